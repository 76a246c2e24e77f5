// Network namespaces given by path (/var/run/netns/x, /proc/PID/ns/net): existence, identity,
// and the argv prefix that runs a program inside one; the links of this process's own netns.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { isSameFile } from './files.js';

/**
 * Why `path` cannot be used as a netns, or undefined when it is a namespace file (nsfs, the file
 * system of /proc/<pid>/ns/* and of netns bind mounts). A FIFO or regular file would block or fail
 * the `ip`/`nsenter` that opens it.
 */
export function netnsProblem(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (st.dev !== statSync('/proc/self/ns/net').dev) return 'is not a namespace (not on nsfs)';
    const kind = namespaceKind(path);
    return kind === 'net' ? undefined : `is a ${kind} namespace, not a network namespace`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code})`;
  }
}

/**
 * The type of the namespace at `path` when it is one of /proc's namespace links ("uts" for
 * /proc/self/ns/uts: the link reads "<type>:[<inode>]"); "net" for a bind mount such as
 * /run/netns/<name>, which reads as no link (the reference checks no more than nsfs either).
 */
function namespaceKind(path: string): string {
  try {
    return /^(\w+):\[/.exec(readlinkSync(path))?.[1] ?? 'net';
  } catch {
    return 'net';
  }
}

/** True when `path` is the namespace this process runs in (a runtime bug we must refuse). */
export const isOwnNetns = (path: string): boolean => isSameFile(path, '/proc/self/ns/net');

/** An id of the netns this process runs in (its inode), or undefined when it cannot be read. */
export function ownNetnsId(): string | undefined {
  try {
    return String(statSync('/proc/self/ns/net').ino);
  } catch {
    return undefined;
  }
}

/** argv that runs `file args` inside the netns at `path`, or as-is when path is undefined. */
export function inNetns(path: string | undefined, file: string, args: readonly string[]): [string, string[]] {
  return path ? ['nsenter', [`--net=${path}`, '--', file, ...args]] : [file, [...args]];
}

/**
 * Whether a link named `name` is in this process's netns, from /proc/self/net/dev (which shows the
 * caller's netns, unlike /sys; no process start); undefined when that cannot be read.
 */
export function hasOwnLink(name: string): boolean | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/net/dev', 'utf8');
  } catch {
    return undefined;
  }
  // "  eth0: 1234 …" after two header lines; a link name holds no ":" or whitespace.
  return text.split('\n').some((line) => line.trimStart().startsWith(`${name}:`));
}
