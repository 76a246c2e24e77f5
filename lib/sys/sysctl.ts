// sysctl by writing /proc/sys directly (no process start) in the current netns.
import { readFileSync, writeFileSync } from 'node:fs';

const path = (key: string) => `/proc/sys/${key.replace(/\./g, '/')}`;

export function readSysctl(key: string): string {
  return readFileSync(path(key), 'utf8').trim();
}

/** Writes only when the value differs, so an already-set value costs one read. */
export function ensureSysctl(key: string, value: string): void {
  if (readSysctl(key) !== value) writeFileSync(path(key), value);
}
