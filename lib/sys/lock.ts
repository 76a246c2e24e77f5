// A named lock that this process's children hold too: an exclusive flock(2) on a file in LOCK_DIR,
// a directory only root (the plugin's user) can write. Every child started by run() inherits the
// open file description, so when a plugin is killed mid-call the lock stays taken until the last
// `ip`/`nft` it started has exited; whoever waits for it (DEL) then acts after them. Nobody else
// can take or squat a name: the directory is 0700, its files 0600, and no link is followed. (An
// abstract unix socket name, which earlier builds bound, has no owner: any process of the netns,
// root or not, could bind one first and stall every call that needs it.)
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { BusyError } from '../base/errors.js';
import { flockFd } from './flock.js';
import { traceLock } from './lock-trace.js';

/** Where the named locks live (tmpfs: none survives a reboot). */
export const LOCK_DIR = '/run/cni-suite/locks';

/** Descriptors of the locks held now; run() passes them to every child. */
const heldFds: number[] = [];
export const inheritedFds = (): readonly number[] => heldFds;

/** Lets go of the lock; with `remove`, its file goes first (the attachment is gone for good). */
export type Release = (opts?: { remove?: boolean }) => void;

/** The lock file of a name ("att/<hash>" → LOCK_DIR/att-<hash>). */
export const lockFile = (name: string) => `${LOCK_DIR}/${name.replace(/\//g, '-')}`;

export async function holdLock(name: string, timeoutMs = 30_000): Promise<Release> {
  const traced = traceLock(name);
  const held = await takeLock(name, timeoutMs);
  if (held) return traced(held);
  throw new BusyError(`${name} is still busy after ${timeoutMs / 1000} s; try again`);
}

/** The lock if it is free now (or within a moment), else undefined. */
export const tryLock = (name: string): Promise<Release | undefined> => takeLock(name, TRY_MS);

/** How long tryLock waits: long enough for a free lock's waiter thread to answer under load. */
const TRY_MS = 250;

async function takeLock(name: string, waitMs: number): Promise<Release | undefined> {
  const file = lockFile(name);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const fd = openLockFile(file);
    let taken = false;
    try {
      taken = await flockFd(fd, Math.max(0, deadline - Date.now()), file);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (!taken) {
      closeSync(fd);
      return undefined;
    }
    // A holder that removed the file (a DEL) let go after: ours is a lock on a file nobody else
    // opens any more. Take the one now at the path.
    if (sameFile(fd, file)) return keep(fd, file);
    closeSync(fd);
  }
}

function openLockFile(file: string): number {
  ensureLockDir();
  // Node opens every file close-on-exec: run() hands it to children explicitly.
  return openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
}

let dirChecked = false;

/** LOCK_DIR exists, is a directory of ours (not a link), and nobody else may write it. */
function ensureLockDir(): void {
  if (dirChecked) return;
  mkdirSync(LOCK_DIR, { recursive: true, mode: 0o700 });
  const st = lstatSync(LOCK_DIR);
  const uid = process.geteuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid || st.mode & 0o022)
    throw new Error(
      `${LOCK_DIR} is not a directory of uid ${uid} that only it may write; remove it (the plugin recreates it)`,
    );
  dirChecked = true;
}

function sameFile(fd: number, file: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = lstatSync(file);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** Passes `fd` to children until released. */
function keep(fd: number, file: string): Release {
  heldFds.push(fd);
  let released = false;
  return (opts) => {
    if (released) return; // the descriptor number may be another file's by now
    released = true;
    if (opts?.remove) {
      try {
        unlinkSync(file);
      } catch {
        // gone already
      }
    }
    const i = heldFds.indexOf(fd);
    if (i >= 0) heldFds.splice(i, 1);
    closeSync(fd);
  };
}
