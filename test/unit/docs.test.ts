// The docs against the code: each plugin's key table (docs/plugins/<name>.md) lists exactly the keys
// of the schemas its config is checked with, each with the schema's type; every relative link in
// README.md and docs/ points to a file (and heading) that exists; the README stays short.
//
// A plugin's schemas are found from its code, not listed here: the validators (gen/<x>.validate.js)
// that its config module reaches through its own files and lib/plan. A key table is a Markdown table
// whose header is `| key | type | default | meaning |`, one key per row in backticks. Nested keys
// are written as paths: `ipam.type`, `isolationAllow[].from`, `ipam.ranges[][].subnet`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import t from 'tap';
import { PLUGIN_NAMES } from '../../lib/names.js';

const ROOT = join(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

// ---------- schemas ----------

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  definitions?: Record<string, Schema>;
};

/** Where a plugin's config is loaded: its config.ts, else its index.ts. */
function configModule(name: string): string {
  const dir = name === 'host-local' ? 'ipam/host-local' : `plugins/${name}`;
  return existsSync(join(ROOT, dir, 'config.ts')) ? `${dir}/config.ts` : `${dir}/index.ts`;
}

/** Value imports (not `import type`) of a module, as repository paths. */
function importsOf(file: string): string[] {
  const out: string[] = [];
  for (const m of read(file).matchAll(
    /^\s*(?:import|export)\s+(type\s+)?[^;]*?\bfrom\s+['"](\.[^'"]+)['"]/gm,
  )) {
    if (m[1]) continue;
    out.push(normalize(join(dirname(file), m[2]!)));
  }
  return out;
}

/** The schema files of the validators a plugin's config module reaches (its own files and lib/plan). */
function schemaFilesOf(name: string): string[] {
  const entry = configModule(name);
  const own = `${dirname(entry)}/`;
  const seen = new Set<string>();
  const validators = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const target of importsOf(file)) {
      const gen = /^gen\/(.+)\.validate\.js$/.exec(target);
      if (gen) validators.add(gen[1]!);
      else if (target.startsWith(own) || target.startsWith('lib/plan/')) walk(target.replace(/\.js$/, '.ts'));
    }
  };
  walk(entry);
  return [...validators].sort().map((v) => {
    const found = [`lib/plan/${v}.schema.json`, `plugins/${v}/schema.json`, `ipam/${v}/schema.json`].find(
      (f) => existsSync(join(ROOT, f)),
    );
    if (!found) throw new Error(`no schema for the validator gen/${v}.validate.js`);
    return found;
  });
}

const resolveRef = (s: Schema, root: Schema): Schema => {
  if (!s.$ref) return s;
  const m = /^#\/definitions\/(.+)$/.exec(s.$ref);
  const target = m ? root.definitions?.[m[1]!] : undefined;
  if (!target) throw new Error(`cannot resolve ${s.$ref}`);
  return resolveRef(target, root);
};

/** The words a doc's type cell must hold for a schema: its types, or its enum's values. */
function typeWords(s: Schema, root: Schema): string[] {
  const r = resolveRef(s, root);
  if (r.enum) return r.enum.map(String);
  const alts = r.anyOf ?? r.oneOf;
  if (alts) return [...new Set(alts.flatMap((a) => typeWords(a, root)))];
  const names: Record<string, string> = { array: 'list' };
  return ([] as string[]).concat(r.type ?? []).map((ty) => names[ty] ?? ty);
}

/** Every key path of a schema (objects as `a.b`, array items as `a[].b`), with its type words. */
function schemaKeys(root: Schema, into = new Map<string, Set<string>>()): Map<string, Set<string>> {
  const visit = (node: Schema, prefix: string) => {
    for (const [key, sub] of Object.entries(node.properties ?? {})) {
      const s = resolveRef(sub, root);
      const path = prefix + key;
      const words = into.get(path) ?? new Set<string>();
      for (const w of typeWords(s, root)) words.add(w);
      into.set(path, words);
      if (s.properties) visit(s, `${path}.`);
      let items = s;
      let suffix = '';
      while (items.items) {
        items = resolveRef(items.items, root);
        suffix += '[]';
      }
      if (suffix && items.properties) visit(items, `${path}${suffix}.`);
    }
  };
  visit(root, '');
  return into;
}

/** The key paths of schema files; `edit` changes a copy of each before it is read. */
const keysOfFiles = (files: readonly string[], edit?: (s: Schema, file: string) => void) => {
  const out = new Map<string, Set<string>>();
  for (const f of files) {
    const schema = JSON.parse(read(f)) as Schema;
    edit?.(schema, f);
    schemaKeys(schema, out);
  }
  return out;
};

// ---------- Markdown ----------

/** Lines outside fenced code blocks, with their numbers. */
function proseLines(md: string): { text: string; n: number }[] {
  let fenced = false;
  const out: { text: string; n: number }[] = [];
  md.split('\n').forEach((text, i) => {
    if (/^\s*```/.test(text)) fenced = !fenced;
    else if (!fenced) out.push({ text, n: i + 1 });
  });
  return out;
}

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

interface Row {
  key: string;
  type: string;
  line: number;
}

/** The rows of every key table in a Markdown text; a first cell that is not one `key` is an error. */
function keyRows(md: string): { rows: Row[]; problems: string[] } {
  const rows: Row[] = [];
  const problems: string[] = [];
  const lines = proseLines(md);
  for (let i = 0; i < lines.length; i++) {
    if (cells(lines[i]!.text).join('|') !== 'key|type|default|meaning') continue;
    for (i += 2; i < lines.length && lines[i]!.text.trim().startsWith('|'); i++) {
      const [first = '', type = ''] = cells(lines[i]!.text);
      const key = /^`([^`]+)`$/.exec(first)?.[1];
      if (key) rows.push({ key, type, line: lines[i]!.n });
      else problems.push(`line ${lines[i]!.n}: the first cell ${first} is not one \`key\``);
    }
  }
  return { rows, problems };
}

/** Doc rows against schema keys: what is missing, what is extra, which type cells disagree. */
function compareKeys(rows: readonly Row[], schema: ReadonlyMap<string, ReadonlySet<string>>) {
  const documented = new Set(rows.map((r) => r.key));
  return {
    missing: [...schema.keys()].filter((k) => !documented.has(k)).sort(),
    extra: [...documented].filter((k) => !schema.has(k)).sort(),
    twice: rows.map((r) => r.key).filter((k, i, all) => all.indexOf(k) !== i),
    types: rows.flatMap((r) => {
      const words = [...(schema.get(r.key) ?? [])].filter((w) => !r.type.includes(w));
      return words.length
        ? [`line ${r.line}: \`${r.key}\`'s type "${r.type}" lacks ${words.join(', ')}`]
        : [];
    }),
  };
}

/** GitHub's anchor for each heading of a Markdown text. */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  const count = new Map<string, number>();
  for (const { text } of proseLines(md)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (h === undefined) continue;
    const base = h
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = count.get(base) ?? 0;
    count.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** Relative links of a Markdown file (repository path) that point nowhere. */
function brokenLinks(file: string, md: string, readMd: (f: string) => string | undefined): string[] {
  const out: string[] = [];
  for (const { text, n } of proseLines(md)) {
    const prose = text.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path = '', anchor] = target.split('#', 2);
      const resolved = path ? normalize(join(dirname(file), decodeURIComponent(path))) : file;
      if (resolved.startsWith('..') || !existsSync(join(ROOT, resolved))) {
        out.push(`${file}:${n}: ${target}: no such file`);
        continue;
      }
      if (anchor === undefined || !resolved.endsWith('.md')) continue;
      const text = resolved === file ? md : readMd(resolved);
      if (text === undefined || !anchors(text).has(anchor))
        out.push(`${file}:${n}: ${target}: no heading #${anchor} in ${resolved}`);
    }
  }
  return out;
}

function markdownFiles(): string[] {
  const out = ['README.md'];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.md')) out.push(path);
    }
  };
  walk('docs');
  return out;
}

// ---------- tests ----------

t.test('each plugin finds its schemas in its code', async (t) => {
  const files = Object.fromEntries(PLUGIN_NAMES.map((p) => [p, schemaFilesOf(p)]));
  for (const [p, f] of Object.entries(files)) t.ok(f.length, `${p}: ${f.join(', ')}`);
  // The controls: the walk sees the shared layers each kind of plugin is built on.
  t.ok(files['bridge-route']!.includes('lib/plan/bridged.schema.json'), 'bridge-route: the bridge keys');
  t.ok(files['bridge-route']!.includes('lib/plan/network.schema.json'), 'bridge-route: the shared keys');
  t.ok(files.vxlan!.includes('lib/plan/tunnel.schema.json'), 'vxlan: the underlay keys');
  t.notOk(files.macvlan!.includes('lib/plan/bridged.schema.json'), 'macvlan: no bridge keys');
});

for (const plugin of PLUGIN_NAMES) {
  t.test(`docs/plugins/${plugin}.md lists the keys of its schemas`, async (t) => {
    const doc = `docs/plugins/${plugin}.md`;
    t.ok(existsSync(join(ROOT, doc)), `${doc} exists`);
    if (!existsSync(join(ROOT, doc))) return;
    const { rows, problems } = keyRows(read(doc));
    t.same(problems, [], 'every row of a key table names one key');
    t.ok(rows.length, 'it has a key table');
    const files = schemaFilesOf(plugin);
    const found = compareKeys(rows, keysOfFiles(files));
    t.same(found.missing, [], `every key of ${files.join(', ')} has a row`);
    t.same(found.extra, [], 'no row for a key the schemas do not have');
    t.same(found.twice, [], 'no key has two rows');
    t.same(found.types, [], "each row's type is the schema's");
  });
}

t.test('a key added to a schema without a row is caught', async (t) => {
  const files = schemaFilesOf('vxlan');
  const rows = keyRows(read('docs/plugins/vxlan.md')).rows;
  const added = keysOfFiles(files, (s, f) => {
    if (f === 'plugins/vxlan/schema.json' && s.properties) s.properties.floodMode = { type: 'boolean' };
  });
  t.same(compareKeys(rows, added).missing, ['floodMode'], 'the new key is missing from the table');
  const nested = keysOfFiles(['plugins/portmap/schema.json'], (s) => {
    const m = s.properties?.runtimeConfig?.properties?.portMappings?.items;
    if (m?.properties) m.properties.hostPortRange = { type: 'string' };
  });
  t.same(
    compareKeys(keyRows(read('docs/plugins/portmap.md')).rows, nested).missing,
    ['runtimeConfig.portMappings[].hostPortRange'],
    'a nested one too',
  );
  const retyped = keysOfFiles(files, (s, f) => {
    if (f === 'plugins/vxlan/schema.json' && s.properties) s.properties.vni = { type: 'string' };
  });
  t.equal(compareKeys(rows, retyped).types.length, 1, 'and a key whose type changed');
});

t.test('every relative link in README.md and docs/ points to something that exists', async (t) => {
  const files = markdownFiles();
  t.ok(files.length > 5, `${files.length} Markdown files: ${files.join(', ')}`);
  const readMd = (f: string) => (existsSync(join(ROOT, f)) ? read(f) : undefined);
  t.same(
    files.flatMap((f) => brokenLinks(f, read(f), readMd)),
    [],
  );
  // The control: a link to nowhere, and to a heading that is not there, are caught.
  const control =
    '[a](docs/nowhere.md) [b](docs/protocol.md#no-such-heading) [c](#first) `[d](x.md)`\n# First';
  t.equal(brokenLinks('README.md', control, readMd).length, 2, 'the checker catches broken links');
});

t.test('README.md is at most 400 lines', async (t) => {
  const lines = read('README.md').split('\n').length - 1;
  t.ok(lines <= 400, `${lines} lines`);
});
