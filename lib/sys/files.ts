// File lookups the protocol edge needs: executables on a search path, and file identity.
import { statSync } from 'node:fs';
import { join } from 'node:path';

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
