// MTU default: that of the host's uplink, the device of its IPv4 default route. The device comes
// from /proc/self/net/route (it shows the caller's netns, no process start); its MTU from netlink,
// never /sys, which shows the netns of whoever mounted it.
import { readRegularFile } from '../sys/files.js';
import { type IpLink, ipJsonIfExists } from '../sys/ip.js';

/** MTU of the default route's device, or 1500 when the host has no default route. */
export async function uplinkMtu(): Promise<number> {
  const dev = uplinkDevice();
  if (!dev) return 1500;
  const [link] = await ipJsonIfExists<IpLink>(['link', 'show', 'dev', dev]);
  return link?.mtu ?? 1500;
}

/** The device of the IPv4 default route, if there is one. */
export function uplinkDevice(): string | undefined {
  try {
    return readRegularFile('/proc/self/net/route')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === '00000000' && f[7] === '00000000')?.[0];
  } catch {
    return undefined;
  }
}
