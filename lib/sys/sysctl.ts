// sysctl by writing /proc/sys directly (no process start) in the current netns; in another netns
// through the addon (a thread of its own enters it), or without the addon by a shell inside it,
// which then execs the command that needs them (Node cannot enter a netns).
import { readFileSync, writeFileSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { addon } from './addon.js';
import { inNetns } from './netns.js';

/** "a.b.c", or "a/b/c" when a part holds dots (an interface called eth0.1). */
const path = (key: string) => `/proc/sys/${key.includes('/') ? key : key.replace(/\./g, '/')}`;

export function readSysctl(key: string): string {
  return readFileSync(path(key), 'utf8').trim();
}

/** Writes only when the value differs, so an already-set value costs one read. */
export function ensureSysctl(key: string, value: string): void {
  if (readSysctl(key) !== value) writeFileSync(path(key), value);
}

/**
 * Writes sysctls inside the netns at `netns` through the addon, before the command that needs them
 * starts (no process start for them). False when the addon is not loaded: use withSysctlsIn.
 */
export function writeSysctlsIn(netns: string, pairs: readonly (readonly [string, string])[]): boolean {
  const native = addon();
  if (!native) return false;
  const [err, at] = native.writeIn(
    netns,
    pairs.flatMap(([k, v]) => [path(k), v]),
  );
  if (err === 0) return true;
  const what =
    at === -1
      ? `cannot enter ${netns}`
      : at < 0
        ? 'cannot write sysctls'
        : `sysctl ${pairs[at]?.[0]} in ${netns}`;
  throw new Error(`${what}: ${getSystemErrorName(-err)}`);
}

/**
 * argv that writes sysctls inside the netns at `netns` (the current one when undefined), then runs
 * `file args` there, with one process start from Node (nsenter, then sh, which execs `file`): a
 * pod's arp_notify before its `ip` batch brings the link up. A key the netns lacks (IPv6 disabled)
 * is skipped, as `sysctl -e` does; a write that fails fails the run before `file` starts.
 */
export function withSysctlsIn(
  netns: string | undefined,
  pairs: readonly (readonly [string, string])[],
  file: string,
  args: readonly string[],
): [string, string[]] {
  // $1 is the number of pairs; then path, value, …; then the command. No input reaches the script.
  const script =
    'n=$1; shift; while [ "$n" -gt 0 ]; do [ ! -e "$1" ] || printf %s "$2" > "$1" || exit; shift 2; n=$((n - 1)); done; exec "$@"';
  const kv = pairs.flatMap(([k, v]) => [path(k), v]);
  return inNetns(netns, '/bin/sh', ['-c', script, 'sh', String(pairs.length), ...kv, file, ...args]);
}
