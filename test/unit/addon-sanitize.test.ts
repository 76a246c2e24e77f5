// The addon under ASan and UBSan (scripts/addon-sanitize): its own tests and run's, against a build
// with both sanitizers, in the bundled Node with their runtimes preloaded; any report fails. The
// tests include arguments that once made the C read past an allocation (addon.test.ts).
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';

const script = join(import.meta.dirname, '../../scripts/addon-sanitize');

t.test('the addon tests pass under ASan and UBSan with no sanitizer report', async (t) => {
  const started = Date.now();
  const r = await execa(script, [], { reject: false, all: true, timeout: 240_000 });
  const summary = /addon-sanitize: (\d+) sanitizer report\(s\); tests exited (\d+)/.exec(r.all ?? '');
  t.ok(summary, `the script ran to its summary\n${summary ? '' : r.all}`);
  t.equal(summary?.[1], '0', 'no sanitizer report');
  t.equal(summary?.[2], '0', 'the tests passed');
  t.equal(r.exitCode, 0, r.exitCode === 0 ? 'exit 0' : (r.all ?? ''));
  // The tests did run, against the sanitized build (each file names the addon it loads).
  const loaded = (r.all ?? '').match(/# addon: \/tmp\/addon-sanitize\.\w+\/cni-suite\.node$/gm) ?? [];
  t.equal(loaded.length, 2, 'addon.test.ts and run.test.ts loaded the sanitized build');
  t.match(r.all ?? '', /# \{ total: \d+, pass: \d+ \}/, 'tap counted the asserts, none failed');
  t.comment(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
