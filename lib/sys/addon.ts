// The suite's addon (native/): flock(2), which Node lacks; posix_spawn(3), which starts a program
// for a fraction of what node:child_process costs (its load, then a fork of the whole Node process
// per child); a fast digest, without loading node:crypto; writing sysctls inside another netns, without nsenter; and
// the netns's cookie (SO_NETNS_COOKIE), which Node cannot ask for.
// The build puts the addon's bytes and digest in the bundle (CNI_SUITE_ADDON); a shared object
// must be a file to be loaded, so the first call after an install writes it under ADDON_DIR, named
// by its digest, and every call loads it from there. Anything in the way (lib run from source, a
// read-only or noexec /var, a directory or file that others could have written) answers
// undefined, and callers use `flock`, child_process, node:crypto and nsenter as before, and keep
// no state per netns (they cannot tell its cookie).
// CNI_SUITE_NO_ADDON=1 asks for that path (tests; an operator who distrusts the addon).
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from './files.js';

declare const CNI_SUITE_ADDON: string | undefined;
declare const CNI_SUITE_ADDON_DIGEST: string | undefined;

const ADDON_DIR = '/var/lib/cni-suite/native';

/** What spawn resolves to: `error` (an errno) when the program could not be started. */
export type Spawned =
  | { error: number }
  | { status: number | null; signal: number; stdout: Buffer; stderr: Buffer; timedOut: boolean };

export interface Addon {
  /** Resolves to 0 once `fd`'s open file description holds an exclusive flock, else to the errno. */
  lock(fd: number): Promise<number>;
  /**
   * Starts `file` (a path) with `argv` (argv[0] included) and `env` ("K=V"), `input` on its stdin,
   * `fds` as its descriptors 3, 4, …; killed past `timeoutMs`. See native/spawn.c.
   */
  spawn(
    file: string,
    argv: readonly string[],
    env: readonly string[],
    input: string,
    fds: readonly number[],
    timeoutMs: number,
  ): Promise<Spawned>;
  /** 128 bits of a fast non-cryptographic hash of `text`, as 32 hex digits (native/digest.c). */
  digest(text: string): string;
  /**
   * Writes sysctls (path under /proc/sys, value, …) inside the netns at `netns`, from a thread that
   * enters it (native/netns.c). [0, -1], or [errno, index of the failed pair] (-1: the netns).
   */
  writeIn(netns: string, pairs: readonly string[]): [number, number];
  /**
   * The cookie of the calling thread's network namespace (SO_NETNS_COOKIE, Linux ≥ 5.14) as a
   * decimal u64, or '' where the kernel cannot tell. Never given to two netns in one boot, unlike
   * the netns's inode, which a new netns gets once the old one is gone (native/cookie.c).
   */
  netnsCookie(): string;
}

/** null: tried, and this process takes the child_process path. */
let loaded: Addon | null | undefined;

export function addon(): Addon | undefined {
  if (loaded === undefined) loaded = load() ?? null;
  return loaded ?? undefined;
}

function load(): Addon | undefined {
  if (typeof CNI_SUITE_ADDON !== 'string' || typeof CNI_SUITE_ADDON_DIGEST !== 'string') return undefined;
  // CNI_SUITE_SPAWN_FLOCK: the name this had while the addon only took host-local's lock.
  if (process.env.CNI_SUITE_NO_ADDON || process.env.CNI_SUITE_SPAWN_FLOCK) return undefined;
  try {
    const bytes = Buffer.from(CNI_SUITE_ADDON, 'base64');
    const file = `${ADDON_DIR}/cni-suite-${CNI_SUITE_ADDON_DIGEST}.node`;
    if (!holds(file, bytes)) {
      mkdirSync(ADDON_DIR, { recursive: true, mode: 0o700 });
      if (!privateDirs()) return undefined;
      writeFileAtomic(file, bytes);
      removeOthers(file);
    }
    // Nobody else may write the file or the directories it is in, so what was compared is loaded.
    if (!privateDirs() || !holds(file, bytes)) return undefined;
    return loadFile(file);
  } catch {
    return undefined;
  }
}

/**
 * The addon in `file`, unchecked: load() checks first; tests load dist/native/cni-suite.node. Throws
 * if it cannot be loaded.
 */
export function loadFile(file: string): Addon {
  const mod = { exports: {} as Partial<Addon> };
  process.dlopen(mod, file);
  const names = ['lock', 'spawn', 'digest', 'writeIn', 'netnsCookie'] as const;
  if (names.some((n) => typeof mod.exports[n] !== 'function'))
    throw new Error(`${file}: not the suite's addon`);
  return mod.exports as Addon;
}

/** For tests only: the addon this process uses from now on (undefined: none). */
export function useAddon(a: Addon | undefined): void {
  loaded = a ?? null;
}

/** An upgrade leaves the addon of the build before (flock-*: the lock's alone, before spawn.c). */
function removeOthers(file: string): void {
  for (const f of readdirSync(ADDON_DIR))
    if (/^(?:cni-suite|flock)-\w+\.node$/.test(f) && `${ADDON_DIR}/${f}` !== file)
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
