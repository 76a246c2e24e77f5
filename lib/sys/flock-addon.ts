// The flock addon (native/flock.c): Node has no flock(2), and starting util-linux `flock` for every
// lock costs a process start (≈ 15 ms of CPU here). The build puts the addon's bytes in the bundle
// (CNI_SUITE_FLOCK_ADDON); a shared object must be a file to be loaded, so the first call after an
// install writes it under ADDON_DIR, named by its digest, and every call loads it from there.
// Anything in the way (lib run from source, a read-only or noexec /var, a directory or file that
// others could have written) answers undefined, and the lock starts `flock` as before.
// CNI_SUITE_SPAWN_FLOCK=1 asks for that path (tests; an operator who distrusts the addon).
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { crypto } from './builtins.js';
import { writeFileAtomic } from './files.js';

declare const CNI_SUITE_FLOCK_ADDON: string | undefined;

const ADDON_DIR = '/var/lib/cni-suite/native';

export interface FlockAddon {
  /** Resolves to 0 once `fd`'s open file description holds an exclusive flock, else to the errno. */
  lock(fd: number): Promise<number>;
}

/** null: tried, and this process takes the `flock` path. */
let loaded: FlockAddon | null | undefined;

export function flockAddon(): FlockAddon | undefined {
  if (loaded === undefined) loaded = load() ?? null;
  return loaded ?? undefined;
}

function load(): FlockAddon | undefined {
  if (typeof CNI_SUITE_FLOCK_ADDON !== 'string' || process.env.CNI_SUITE_SPAWN_FLOCK) return undefined;
  try {
    const bytes = Buffer.from(CNI_SUITE_FLOCK_ADDON, 'base64');
    const file = `${ADDON_DIR}/flock-${crypto().hash('sha256', bytes).slice(0, 16)}.node`;
    if (!holds(file, bytes)) {
      mkdirSync(ADDON_DIR, { recursive: true, mode: 0o700 });
      if (!privateDirs()) return undefined;
      writeFileAtomic(file, bytes);
      removeOthers(file);
    }
    // Nobody else may write the file or the directories it is in, so what was compared is loaded.
    if (!privateDirs() || !holds(file, bytes)) return undefined;
    const mod = { exports: {} as Partial<FlockAddon> };
    process.dlopen(mod, file);
    return typeof mod.exports.lock === 'function' ? (mod.exports as FlockAddon) : undefined;
  } catch {
    return undefined;
  }
}

/** An upgrade leaves the addon of the build before: it goes when the new one is written. */
function removeOthers(file: string): void {
  for (const f of readdirSync(ADDON_DIR))
    if (/^flock-\w+\.node$/.test(f) && `${ADDON_DIR}/${f}` !== file)
      rmSync(`${ADDON_DIR}/${f}`, { force: true });
}

/** True when `file` is ours, writable by nobody else, and holds exactly `bytes`. */
function holds(file: string, bytes: Buffer): boolean {
  try {
    return ownedAndPrivate(file) && readFileSync(file).equals(bytes);
  } catch {
    return false;
  }
}

/** ADDON_DIR and its parent are ours and writable by nobody else. */
const privateDirs = () => ownedAndPrivate(dirname(ADDON_DIR)) && ownedAndPrivate(ADDON_DIR);

/** Owned by this user, not a symlink, and not writable by group or others. */
function ownedAndPrivate(path: string): boolean {
  const st = lstatSync(path);
  return !st.isSymbolicLink() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
}
