// MTU defaults: the host's uplink is the device of its IPv4 default route. Read from /proc and
// /sys (both reflect the caller's netns) so the default costs no process start.
import { readFileSync } from 'node:fs';

/** MTU of the default route's device, or 1500 when the host has no default route. */
export function uplinkMtu(): number {
  try {
    const dev = readFileSync('/proc/net/route', 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === '00000000' && f[7] === '00000000')?.[0];
    if (!dev) return 1500;
    return Number(readFileSync(`/sys/class/net/${dev}/mtu`, 'utf8').trim()) || 1500;
  } catch {
    return 1500;
  }
}
