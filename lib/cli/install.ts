// `cni-suite install`: check everything, then copy this executable into the bin dir as cni-suite,
// link each plugin name to it and write the config list. A refusal changes nothing.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isSea } from 'node:sea';
import { PLUGIN_NAMES, type PluginName } from '../names.js';
import { type Conflist, readConflist } from './conflist.js';
import { copyAtomic, identities, linkAtomic, type Owner, ownerOf, syncDir, writeAtomic } from './files.js';
import type { Options } from './options.js';

export const SUITE = 'cni-suite';

export function install(o: Options, say: (line: string) => void): void {
  requireSingleExecutable();
  const conflist = o.conflist ? readConflist(o.conflist) : undefined;
  const exe = join(o.binDir, SUITE);
  const names = namesToLink(o, exe);
  copyExecutable(exe);
  say(`installed ${exe}`);
  for (const name of names) {
    linkAtomic(exe, join(o.binDir, name));
    say(`linked ${join(o.binDir, name)}`);
  }
  syncDir(o.binDir);
  if (conflist) say(`wrote ${writeConflist(conflist, o.confDir)}`);
}

/**
 * The names asked for, plus those already ours (kept on the new copy, so that every name of ours
 * stays a link of DIR/cni-suite, which uninstall relies on). Throws, naming each file, when one is
 * a directory, or is not ours and --force was not given.
 */
function namesToLink(o: Options, exe: string): PluginName[] {
  // Ours: links of the installed copy, or of the very file running (reinstalling from it).
  const ours = identities([exe, process.execPath]);
  const owners = new Map(PLUGIN_NAMES.map((n) => [n, ownerOf(join(o.binDir, n), ours)]));
  const names = PLUGIN_NAMES.filter((n) => o.plugins.includes(n) || owners.get(n) === 'ours');
  const problems = names.flatMap((n) => refusal(join(o.binDir, n), owners.get(n), o.force));
  if (problems.length) throw new Error(problems.join('\n'));
  return names;
}

function refusal(path: string, owner: Owner | undefined, force: boolean): string[] {
  if (owner === 'directory') return [`${path} is a directory: remove it, or use --plugins to install fewer`];
  if (owner === 'foreign' && !force)
    return [
      `${path} exists and is not cni-suite's (another suite's plugin?): use --force to replace it, or --plugins to install fewer`,
    ];
  return [];
}

/** process.execPath is the file to copy only in the single executable; run any other way, it is node. */
function requireSingleExecutable(): void {
  if (!isSea())
    throw new Error(
      'install copies the built executable: run dist/bin/cni-suite (npm run build), not a script',
    );
}

function copyExecutable(exe: string): void {
  mkdirSync(dirname(exe), { recursive: true, mode: 0o755 });
  copyAtomic(process.execPath, exe);
}

function writeConflist(c: Conflist, confDir: string): string {
  const path = join(confDir, c.fileName);
  mkdirSync(confDir, { recursive: true, mode: 0o755 });
  writeAtomic(path, c.text, 0o644);
  syncDir(confDir);
  return path;
}
