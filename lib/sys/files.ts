// Files: executables on a search path, file identity, bounded reads and atomic writes.
import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

/** The first executable regular file named `name` in `dirs`. */
export function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      const st = statSync(file);
      if (st.isFile() && st.mode & 0o111) return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** True when both paths name the same inode (hard links, /proc/self/* links); false if either is missing. */
export function isSameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * The text of a regular file of at most `maxBytes`; refuses FIFOs, devices and /proc-like files so a
 * bad path can neither block nor read without end. Throws an Error whose `code` says why.
 */
export function readRegularFile(path: string, maxBytes = 4 << 20): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
    if (st.size > maxBytes)
      throw Object.assign(new Error(`${path} is over ${maxBytes} bytes`), { code: 'EFBIG' });
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file atomically (scratch file, then rename), mode 0600 by default, creating its
 * directory (searchable by whoever may read the file: 0700 for 0600, 0755 for 0644).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: mode | ((mode & 0o444) >> 2) });
  const scratch = `${path}.${process.pid}.tmp`;
  // Created anew (O_EXCL: never through a link someone put there; a leftover of a killed call of
  // the same pid goes first). The rename replaces a link at `path` itself, never its target.
  let fd: number;
  try {
    fd = openSync(scratch, SCRATCH_FLAGS, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    unlinkSync(scratch);
    fd = openSync(scratch, SCRATCH_FLAGS, mode);
  }
  try {
    writeFileSync(fd, data);
  } catch (err) {
    closeSync(fd);
    unlinkSync(scratch);
    throw err;
  }
  closeSync(fd);
  renameSync(scratch, path);
}

const SCRATCH_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Appends to a regular file (created 0600); a FIFO or device is refused at once, never blocked on,
 *  and a symlink is not followed (ELOOP): nobody can point our writes at another file. */
export function appendRegularFile(path: string, data: string): void {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    if (!fstatSync(fd).isFile())
      throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** A write failed because the filesystem cannot take it: full, over quota, or read-only. */
export const isUnwritable = (err: unknown): boolean =>
  ['ENOSPC', 'EDQUOT', 'EROFS'].includes((err as NodeJS.ErrnoException)?.code ?? '');
