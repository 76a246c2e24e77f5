// Config schemas (lib/plan/network.schema.json, plugins/*/schema.json, ipam/*/schema.json) compiled at build time into
// standalone validator modules under gen/: no schema compilation at run time, where every
// plugin call would pay ~30 ms for it.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

/** Schemas of config layers shared by several plugins, named after their $id. */
const SHARED_SCHEMAS = [
  'lib/plan/network.schema.json',
  'lib/plan/bridged.schema.json',
  'lib/plan/tunnel.schema.json',
];

export async function generateValidators(root: string): Promise<void> {
  const outDir = join(root, 'gen');
  mkdirSync(outDir, { recursive: true });
  for (const file of SHARED_SCHEMAS) {
    const schema = JSON.parse(readFileSync(join(root, file), 'utf8'));
    writeValidator(outDir, schema.$id.replace(/\.json$/, ''), schema);
  }
  for (const group of ['plugins', 'ipam']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const schemaFile = join(base, name, 'schema.json');
      if (!existsSync(schemaFile)) continue;
      writeValidator(outDir, name, JSON.parse(readFileSync(schemaFile, 'utf8')));
    }
  }
}

function writeValidator(outDir: string, name: string, schema: object): void {
  const ajv = new Ajv.default({
    code: { source: true, esm: true },
    allErrors: false,
    strict: true,
    useDefaults: false,
  });
  const validate = ajv.compile(schema);
  writeFileSync(join(outDir, `${name}.validate.js`), asPureEsm(standaloneCode.default(ajv, validate)));
  writeFileSync(join(outDir, `${name}.validate.d.ts`), VALIDATOR_DTS);
}

/** Ajv's "esm" output still require()s its runtime helpers; make those imports so the file is plain ESM. */
function asPureEsm(code: string): string {
  return code.replace(
    /const (\w+) = require\("([^"]+)"\)\.default;/g,
    (_, name: string, mod: string) => `import ${name}_m from "${mod}.js";const ${name} = ${name}_m.default;`,
  );
}

const VALIDATOR_DTS = `import type { ErrorObject } from 'ajv';
declare const validate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
export default validate;
`;

if (import.meta.url === `file://${process.argv[1]}`)
  await generateValidators(join(import.meta.dirname, '..'));
