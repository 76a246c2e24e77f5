// sysctl by writing /proc/sys directly (no process start) in the current netns; in another netns
// through `sysctl` run inside it (Node cannot enter a netns itself).
import { readFileSync, writeFileSync } from 'node:fs';
import { inNetns } from './netns.js';
import { run } from './run.js';

/** "a.b.c", or "a/b/c" when a part holds dots (an interface called eth0.1). */
const path = (key: string) => `/proc/sys/${key.includes('/') ? key : key.replace(/\./g, '/')}`;

export function readSysctl(key: string): string {
  return readFileSync(path(key), 'utf8').trim();
}

/** Writes only when the value differs, so an already-set value costs one read. */
export function ensureSysctl(key: string, value: string): void {
  if (readSysctl(key) !== value) writeFileSync(path(key), value);
}

/** Sets sysctls inside the netns at `netns`, in one process. */
export async function setSysctlsIn(
  netns: string,
  pairs: readonly (readonly [string, string])[],
): Promise<void> {
  // -e: a key the netns lacks (IPv6 disabled) is skipped, not an error.
  if (pairs.length) await run(...inNetns(netns, 'sysctl', ['-eqw', ...pairs.map(([k, v]) => `${k}=${v}`)]));
}
