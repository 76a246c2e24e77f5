// Network namespaces given by path (/var/run/netns/x, /proc/PID/ns/net): existence, identity,
// and the argv prefix that runs a program inside one; the links of this process's own netns.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { addon } from './addon.js';
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

/**
 * An id of the netns this process runs in that no other netns of this boot has had:
 * "<inode>-<cookie>". The inode alone is reused by the kernel seconds after a netns goes; the
 * cookie (SO_NETNS_COOKIE, Linux 5.14+, through the addon) never is. Undefined without the addon or
 * on an older kernel: callers then keep no state per netns.
 */
export function ownNetnsId(): string | undefined {
  if (cachedId !== null) return cachedId;
  let id: string | undefined;
  try {
    const cookie = addon()?.netnsCookie();
    if (cookie) id = `${statSync('/proc/self/ns/net').ino}-${cookie}`;
  } catch {
    id = undefined;
  }
  cachedId = id;
  return id;
}

/** A process never changes its netns (only threads of the addon do, and they end there). */
let cachedId: string | undefined | null = null;

/**
 * The inodes of the network namespaces this machine has now, as far as this process can see them:
 * every process's, and the bind mounts under /run/netns. A netns held only by another mount or an
 * open descriptor is missed: its stamps are then swept, and its next call does the full work once.
 */
export function liveNetnsInodes(): Set<number> {
  const out = new Set<number>();
  const add = (path: string) => {
    try {
      out.add(statSync(path).ino);
    } catch {
      // gone meanwhile, or not ours to see
    }
  };
  for (const dir of ['/run/netns', '/var/run/netns'])
    for (const name of safeReaddir(dir)) add(`${dir}/${name}`);
  for (const pid of safeReaddir('/proc')) if (/^\d+$/.test(pid)) add(`/proc/${pid}/ns/net`);
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
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
