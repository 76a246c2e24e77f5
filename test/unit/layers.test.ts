// The layering rule of `npm run lint` (scripts/layers.ts): the tree keeps it, and it catches a plan
// or the pure layer importing lib/sys or the engine, and lib/sys importing the protocol.
import { join } from 'node:path';
import t from 'tap';
import { layerOf, readSources, violations } from '../../scripts/layers.ts';

const ROOT = join(import.meta.dirname, '../..');
const tree = readSources(ROOT);

t.test('the tree keeps the layering', async (t) => {
  t.ok(tree.size > 50, `${tree.size} files checked`);
  t.same(violations(tree), []);
});

t.test('files get the layer their place says', async (t) => {
  t.equal(layerOf('plugins/vxlan/plan.ts'), 'plugin-plan');
  t.equal(layerOf('plugins/vxlan/status.ts'), 'plugin');
  t.equal(layerOf('lib/plan/diff.ts'), 'plan');
  t.equal(layerOf('lib/sys/run.ts'), 'sys');
});

/** The tree with one file's source changed by `edit`. */
const withEdit = (file: string, edit: (s: string) => string) => {
  const copy = new Map(tree);
  t.ok(copy.has(file), `${file} is in the tree`);
  copy.set(file, edit(copy.get(file)!));
  return copy;
};

for (const [file, line, why] of [
  ['plugins/macvlan/plan.ts', "import { run } from '../../lib/sys/run.js';", 'plugin-plan → sys'],
  ['plugins/gre/config.ts', "import { add } from '../../lib/engine/add.js';", 'plugin-plan → engine'],
  ['lib/plan/diff.ts', "import { ip } from '../sys/ip.js';", 'plan → sys'],
  ['lib/plan/model.ts', "import type { Host } from '../engine/host.js';", 'plan → engine'],
  ['lib/sys/run.ts', "import { CniError } from '../cni/errors.js';", 'sys → cni'],
  ['lib/sys/ip.ts', "import { diff } from '../plan/diff.js';", 'sys → plan'],
  ['lib/cni/result.ts', "import { plan } from '../plan/model.js';", 'cni → plan'],
  ['plugins/vxlan/plan.ts', "import { plan } from '../bridge-route/plan.js';", "another plugin's file"],
] as const) {
  t.test(`caught: ${file} importing ${line.split("'")[1]}`, async (t) => {
    const found = violations(withEdit(file, (s) => `${line}\n${s}`));
    t.equal(found.length, 1, 'one violation');
    t.match(found[0], `${file} → `, 'naming the file');
    t.match(found[0], why, `and why (${why})`);
  });
}
