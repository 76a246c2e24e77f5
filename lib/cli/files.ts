// The file steps of install/uninstall. Every name is swapped in by rename(2), so a runtime calling a
// plugin meanwhile finds either the old file or the new one, never a missing or half-written one.
import {
  closeSync,
  copyFileSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What is at a path we are about to replace. */
export type Owner = 'absent' | 'ours' | 'foreign' | 'directory';

const fileId = (st: Stats) => `${st.dev}:${st.ino}`;

/** The identities (device, inode) of those files that exist: a file with one of them is ours. */
export function identities(paths: string[]): Set<string> {
  const ids = new Set<string>();
  for (const p of paths) {
    try {
      ids.add(fileId(statSync(p)));
    } catch {
      // missing: nothing is ours through it
    }
  }
  return ids;
}

/** Ours: a hard link of one of `ours`, or a symlink to one (stat follows it). */
export function ownerOf(path: string, ours: Set<string>): Owner {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  if (st.isDirectory()) return 'directory';
  try {
    return ours.has(fileId(statSync(path))) ? 'ours' : 'foreign';
  } catch {
    return 'foreign'; // a dangling symlink
  }
}

const scratch = (path: string) => join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);

/** Copies `from` to `to` (mode 0755) through a scratch file that is complete and on disk before the rename. */
export function copyAtomic(from: string, to: string): void {
  const tmp = scratch(to);
  try {
    copyFileSync(from, tmp);
    syncFile(tmp, 0o755);
    renameSync(tmp, to);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Makes `path` a hard link of `target`, replacing whatever is there in one step. */
export function linkAtomic(target: string, path: string): void {
  const tmp = scratch(path);
  rmSync(tmp, { force: true });
  linkSync(target, tmp);
  try {
    renameSync(tmp, path);
  } finally {
    // rename(2) between two links of one inode succeeds without doing anything: tmp stays.
    rmSync(tmp, { force: true });
  }
}

/** Writes `text` to `path` (mode `mode`, whatever the umask) through a synced scratch file. */
export function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = scratch(path);
  try {
    writeFileSync(tmp, text);
    syncFile(tmp, mode);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function syncFile(path: string, mode: number): void {
  const fd = openSync(path, 'r+');
  try {
    fchmodSync(fd, mode);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the renames in `dir` durable: a crash after install leaves the new names, not the old. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes a file; true if there was one. */
export function removeFile(path: string): boolean {
  try {
    rmSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
