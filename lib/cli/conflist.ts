// `install --conflist FILE`: the network config list is checked before anything is installed, so a
// typo never leaves a node with new plugins and no (or a broken) network config.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';

export interface Conflist {
  /** The file's base name: its name in the config dir. */
  fileName: string;
  /** Its text as given: written as is, in the author's formatting. */
  text: string;
}

/** Runtimes (libcni) read a list only from these; any other name would be silently ignored. */
const LIST_EXTENSIONS = ['.conflist', '.json'];

export function readConflist(file: string): Conflist {
  if (!LIST_EXTENSIONS.includes(extname(file)))
    throw new Error(`${file}: a config list must be named *.conflist (or *.json), or runtimes ignore it`);
  const text = readText(file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`);
  }
  const problem = listProblem(doc);
  if (problem) throw new Error(`${file} is not a CNI config list: ${problem}`);
  return { fileName: basename(file), text };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

function listProblem(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'it is not a JSON object';
  const o = doc as Record<string, unknown>;
  if (typeof o.cniVersion !== 'string' || !o.cniVersion) return '"cniVersion" is missing';
  if (typeof o.name !== 'string' || !o.name) return '"name" is missing';
  if (!Array.isArray(o.plugins) || !o.plugins.length) return '"plugins" must be a non-empty list';
  const untyped = o.plugins.findIndex((p) => typeof (p as { type?: unknown } | null)?.type !== 'string');
  if (untyped >= 0) return `plugins[${untyped}] has no "type"`;
  return undefined;
}
