// The layers of the code and which may import which (docs/ARCHITECTURE.md draws them). Imports only
// point down: a plan describes and the engine acts, so plans and the pure layer never reach the
// host; lib/sys says what happened on the host and knows nothing of the protocol or of networks.
// `npm run lint` runs this file; test/unit/layers.test.ts shows it catching a violation.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

export type Layer =
  | 'base'
  | 'sys'
  | 'cni'
  | 'plan'
  | 'plugin-plan'
  | 'engine'
  | 'host'
  | 'plugin'
  | 'ipam'
  | 'cli'
  | 'agent'
  | 'top'
  | 'gen';

/** What each layer may import besides itself. */
export const MAY_IMPORT: { [L in Layer]: readonly Layer[] } = {
  base: [],
  gen: [],
  sys: ['base'],
  cni: ['base', 'sys'],
  plan: ['base', 'cni', 'gen'],
  'plugin-plan': ['base', 'cni', 'gen', 'plan'],
  engine: ['base', 'cni', 'plan'],
  host: ['base', 'engine', 'plan', 'sys'],
  plugin: ['base', 'cni', 'plan', 'plugin-plan', 'engine', 'host', 'sys'],
  ipam: ['base', 'cni', 'gen', 'sys'],
  cli: ['base', 'cni', 'sys'],
  agent: ['base', 'cli', 'cni', 'engine', 'host', 'plan', 'sys', 'top'],
  top: [
    'base',
    'cli',
    'cni',
    'engine',
    'host',
    'ipam',
    'plan',
    'plugin',
    'plugin-plan',
    'sys',
    'agent',
    'gen',
  ],
};

/** The layer of a source file (a path relative to the repository), or undefined (not checked). */
export function layerOf(file: string): Layer | undefined {
  if (file.startsWith('gen/')) return 'gen';
  if (file === 'lib/names.ts' || file.startsWith('lib/base/')) return 'base';
  if (file === 'lib/main.ts' || file === 'lib/registry.ts') return 'top';
  const lib = /^lib\/(sys|cni|plan|engine|host|cli|agent)\//.exec(file)?.[1];
  if (lib) return lib as Layer;
  if (file.startsWith('ipam/')) return 'ipam';
  // A plugin's config, plan and rules are pure, like lib/plan; its index and STATUS probe are not.
  if (/^plugins\/[^/]+\/(config|plan|rules)\.ts$/.test(file)) return 'plugin-plan';
  if (file.startsWith('plugins/')) return 'plugin';
  return undefined;
}

/** The repository-relative files that `source` (of `file`) imports, static or dynamic. */
export function importsOf(file: string, source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    out.push(normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
  }
  return out;
}

const isPlugin = (l: Layer) => l === 'plugin' || l === 'plugin-plan';

/** Every import that breaks the layering, as "file → imported (layer → layer)". */
export function violations(sources: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of sources) {
    const from = layerOf(file);
    if (!from) continue;
    for (const target of importsOf(file, source)) {
      const to = layerOf(target);
      if (!to) continue;
      if (isPlugin(from) && isPlugin(to)) {
        // A plugin's files see only their own plugin's other files; its pure ones, no I/O there.
        if (!target.startsWith(`${dirname(file)}/`)) out.push(`${file} → ${target} (another plugin's file)`);
        else if (from === 'plugin-plan' && to === 'plugin')
          out.push(`${file} → ${target} (${from} → ${to}: a plan imports no I/O)`);
        continue;
      }
      if (to !== from && !MAY_IMPORT[from].includes(to)) out.push(`${file} → ${target} (${from} → ${to})`);
    }
  }
  return out;
}

/** The checked sources of the repository at `root`. */
export function readSources(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && layerOf(path)) out.set(path, readFileSync(join(root, path), 'utf8'));
    }
  };
  for (const dir of ['lib', 'plugins', 'ipam']) walk(dir);
  return out;
}

if (import.meta.filename === process.argv[1]) {
  const root = join(import.meta.dirname, '..');
  const found = violations(readSources(root));
  for (const v of found) console.error(`layers: ${v}`);
  if (found.length) {
    console.error(
      `layers: ${found.length} import(s) break the layering (see ${relative(process.cwd(), import.meta.filename)})`,
    );
    process.exit(1);
  }
}
