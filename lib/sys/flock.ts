// An exclusive flock(2) on a file: host-local takes it on <network dir>/lock, the same lock the
// reference host-local takes, so both serialise on it. Node has no flock: the suite's addon
// (addon.ts) calls it on our descriptor, from a thread that waits. Where the addon cannot be
// loaded, util-linux `flock` locks a descriptor we pass it: a flock belongs to the open file
// description, which the child shares with us, so the lock outlives the child. Either way it holds
// until we close our descriptor (or die: the kernel then drops it, never a stale lock).
//
// Under load (ten calls starting at once on two cores) a call that holds or is handed the lock must
// not queue for CPU behind calls still starting: every other call waits for it. So from asking for
// the lock until letting go, the caller runs at a raised priority (a root-only nice, a no-op
// elsewhere), and so does its flock child, which inherits it. Measured with CNI_SUITE_LOCK_TRACE at
// 50 host-local ADDs, 10 parallel: time held, median, from ~35 ms to ~20 ms (see README "Benchmarks").
import { closeSync, constants, openSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { BusyError } from '../base/errors.js';
import { type Addon, addon as loadAddon } from './addon.js';
import { childProcess } from './builtins.js';
import { traceLock } from './lock-trace.js';

export const LOCK_WAIT_SECONDS = 60;
/** The nice value of a caller waiting for or holding the lock. */
const HOLDER_NICE = -10;

export type Unlock = () => void;

/** Takes the lock without blocking the event loop, so a caller's other processes keep running. */
export async function lockExclusive(file: string): Promise<Unlock> {
  const traced = traceLock(file);
  const restorePriority = raisePriority();
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    await takeLock(fd, file);
  } catch (err) {
    closeSync(fd);
    restorePriority();
    throw err;
  }
  return traced(() => {
    closeSync(fd);
    restorePriority();
  });
}

/** Raises this process's priority; the returned function puts the old one back. */
function raisePriority(): () => void {
  try {
    const before = getPriority();
    if (before <= HOLDER_NICE) return () => {};
    setPriority(HOLDER_NICE);
    return () => {
      try {
        setPriority(before);
      } catch {
        // the priority was changed behind our back; nothing to restore
      }
    };
  } catch {
    return () => {}; // not root: the lock works the same, only slower under load
  }
}

async function takeLock(fd: number, file: string): Promise<void> {
  if (!(await flockFd(fd, LOCK_WAIT_SECONDS * 1000, file))) throw stillLocked(file);
}

/**
 * An exclusive flock on `fd`'s open file description within `waitMs`: true once held, false when
 * another holds it past that. Through the addon's waiter thread (which, given up on, takes and at
 * once drops the lock when it comes, closing its own copy of the description last), else util-linux
 * `flock` on our descriptor.
 */
export async function flockFd(fd: number, waitMs: number, file: string): Promise<boolean> {
  const addon = loadAddon();
  if (addon) return addonLock(addon, fd, waitMs, file);
  let r = await runFlock('flock', fd, waitMs);
  // Runtimes may start plugins with a bare environment; util-linux lives in /usr/bin on Debian.
  if (r.error?.code === 'ENOENT') r = await runFlock('/usr/bin/flock', fd, waitMs);
  if (r.error) {
    throw new Error(
      `cannot run flock to lock ${file}: ${r.error.message}; install util-linux (see README "Requirements")`,
    );
  }
  if (r.status === 1) return false;
  if (r.status !== 0) throw new Error(`flock ${file} failed: ${r.stderr.trim() || r.status}`);
  return true;
}

/** The addon's flock, which waits on a detached thread of its own, not joined at exit. */
async function addonLock(addon: Addon, fd: number, waitMs: number, file: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), waitMs);
  });
  const err = await Promise.race([addon.lock(fd), timeout]).finally(() => clearTimeout(timer));
  if (err === 'timeout') return false;
  if (err !== 0) throw new Error(`flock ${file} failed: ${getSystemErrorName(-err)}`);
  return true;
}

const stillLocked = (file: string) =>
  new BusyError(`${file} stayed locked for ${LOCK_WAIT_SECONDS} s by another call; try again`);

/** `flock -x -w N 3` (or `-n`) with our descriptor as its fd 3. */
function runFlock(
  file: string,
  fd: number,
  waitMs: number,
): Promise<{ status: number | null; stderr: string; error?: NodeJS.ErrnoException }> {
  const wait = waitMs > 0 ? ['-w', String(waitMs / 1000)] : ['-n'];
  return new Promise((resolve) => {
    // Only PATH: with a LANG, flock would load locale files first (a millisecond, on every call).
    const child = childProcess().spawn(file, ['-x', ...wait, '3'], {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'ignore', 'pipe', fd],
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b;
    });
    child.on('error', (error: NodeJS.ErrnoException) => resolve({ status: null, stderr, error }));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}
