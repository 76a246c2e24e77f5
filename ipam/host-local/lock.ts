// An exclusive flock(2) on <network dir>/lock, the same lock the reference host-local takes, so both
// serialise on it. Node has no flock, so util-linux `flock` locks a descriptor we pass it: a flock
// belongs to the open file description, which the child shares with us, so the lock outlives the
// child and holds until we close our descriptor (or die: the kernel then drops it, never a stale lock).
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { CniError, ErrorCode } from '../../lib/cni/errors.js';

export const LOCK_WAIT_SECONDS = 60;

export type Unlock = () => void;

export function lockExclusive(file: string): Unlock {
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    takeLock(fd, file);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return () => closeSync(fd);
}

function takeLock(fd: number, file: string): void {
  const args = ['-x', '-w', String(LOCK_WAIT_SECONDS), '3'];
  const stdio: ['ignore', 'ignore', 'pipe', number] = ['ignore', 'ignore', 'pipe', fd];
  let r = spawnSync('flock', args, { stdio });
  // Runtimes may start plugins with a bare environment; util-linux lives in /usr/bin on Debian.
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    r = spawnSync('/usr/bin/flock', args, { stdio });
  if (r.error) {
    throw new CniError(
      ErrorCode.Internal,
      `cannot run flock to lock ${file}: ${r.error.message}; install util-linux (see README "Requirements")`,
    );
  }
  if (r.status === 1) {
    throw new CniError(
      ErrorCode.TryAgainLater,
      `${file} stayed locked for ${LOCK_WAIT_SECONDS} s by another host-local call; try again`,
    );
  }
  if (r.status !== 0)
    throw new CniError(ErrorCode.Internal, `flock ${file} failed: ${String(r.stderr).trim() || r.status}`);
}
