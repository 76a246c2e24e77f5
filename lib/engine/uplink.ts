// The host's uplink: the device a plan depends on for its MTU and underlay address. By default the
// device of the default route, from /proc/self/net (it shows the caller's netns; no process start);
// its MTU and addresses from netlink, never /sys, which shows the netns of whoever mounted it.

import type { IpAddrInfo, IpLink } from '../plan/state.js';
import { NO_UPLINK, type Uplink } from '../plan/uplink.js';
import type { Host } from './seam.js';

/** How long ADD reuses the uplink as an earlier call read it (see recentUplink). */
export const UPLINK_TRUSTED_MS = 30_000;

export interface RecentUplink {
  uplink: Uplink;
  /** True when it was not read by this call but recalled from another's note. */
  recalled: boolean;
}

/**
 * The uplink as an ADD on this host that succeeded read it in the last UPLINK_TRUSTED_MS (its note
 * in /run/cni-suite), else read now: pods started together share one `ip` run instead of one each.
 * So a new MTU or address of the uplink reaches ADDs within that time; CHECK and GC read it every
 * time.
 */
export async function recentUplink(host: Host, dev = defaultRouteDevice(host)): Promise<RecentUplink> {
  if (!dev) return { uplink: NO_UPLINK, recalled: false };
  const kept = parseUplink(uplinkNote(host, dev).read(UPLINK_TRUSTED_MS), dev);
  return kept ? { uplink: kept, recalled: true } : { uplink: await readUplink(host, dev), recalled: false };
}

/**
 * Notes what an ADD read of the uplink, once the ADD succeeded (a call refused for bad input
 * changes nothing on the host, not even this). A missing device is not noted.
 */
export function noteUplink(host: Host, { uplink, recalled }: RecentUplink): void {
  if (!recalled && uplink.found) uplinkNote(host, uplink.dev).write(JSON.stringify(uplink));
}

/**
 * After an ADD that recalled `kept` failed: `kept` itself if the uplink is still so, else the uplink
 * as it is now, with the note dropped (the next ADD then reads it again).
 */
export async function recheckUplink(host: Host, kept: Uplink, read: () => Promise<Uplink>): Promise<Uplink> {
  const now = await read();
  const same =
    now.found === kept.found &&
    now.mtu === kept.mtu &&
    now.mac === kept.mac &&
    now.addrs.join() === kept.addrs.join();
  if (same) return kept;
  uplinkNote(host, kept.dev).forget();
  return now;
}

const uplinkNote = (host: Host, dev: string) => host.note(`uplink_${dev}`);

/** A noted uplink, or undefined when there is none or it does not parse as one of `dev`. */
function parseUplink(text: string | undefined, dev: string): Uplink | undefined {
  if (!text) return undefined;
  try {
    const u = JSON.parse(text) as Partial<Uplink>;
    const valid =
      u.dev === dev &&
      u.found === true &&
      typeof u.mtu === 'number' &&
      typeof u.mac === 'string' &&
      Array.isArray(u.addrs) &&
      u.addrs.every((a) => typeof a === 'string');
    return valid ? (u as Uplink) : undefined;
  } catch {
    return undefined;
  }
}

/** The named device, or the default route's (IPv4, else IPv6); one `ip` run. */
export async function readUplink(host: Host, dev = defaultRouteDevice(host)): Promise<Uplink> {
  if (!dev) return NO_UPLINK;
  const [link] = (await host.read(['addr', 'show', 'dev', dev])) as (IpLink & IpAddrInfo)[];
  if (!link) return { ...NO_UPLINK, dev };
  const addrs = (link.addr_info ?? [])
    .filter((a) => a.scope === 'global')
    .sort((a, b) => (a.family === b.family ? 0 : a.family === 'inet' ? -1 : 1))
    .map((a) => `${a.local}/${a.prefixlen}`);
  return { dev, found: true, mtu: link.mtu, mac: link.address ?? '', addrs };
}

/** The rows of a /proc/self/net table, split on whitespace; [] when it cannot be read. */
function procTable(host: Host, file: string): string[][] {
  try {
    return host
      .readFile(file)
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
  } catch {
    return [];
  }
}

/** The device of the IPv4 default route, else of the IPv6 one. */
export function defaultRouteDevice(host: Host): string | undefined {
  const v4 = procTable(host, '/proc/self/net/route').find(
    (f) => f[1] === '00000000' && f[7] === '00000000',
  )?.[0];
  if (v4) return v4;
  // ipv6_route: destination, prefix length, …, device last; the default is ::/0, not via lo.
  return procTable(host, '/proc/self/net/ipv6_route').find(
    (f) => f[0] === '0'.repeat(32) && f[1] === '00' && f[9] !== 'lo',
  )?.[9];
}

/**
 * The device of the main table's most specific IPv4 route to `ip` (lowest metric among equals),
 * from /proc/self/net/route, whose addresses are hex in the host's (little-endian) byte order.
 */
export function routeDevice(host: Host, ip: string): string | undefined {
  const addr = ip.split('.').reduce((v, o) => (v << 8) | Number(o), 0) >>> 0;
  const order = (hex: string) => {
    const v = Number.parseInt(hex, 16);
    return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
  };
  let best: { dev: string; mask: number; metric: number } | undefined;
  for (const f of procTable(host, '/proc/self/net/route').slice(1)) {
    if (f.length < 8 || !/^[0-9A-F]{8}$/i.test(f[1]!) || !/^[0-9A-F]{8}$/i.test(f[7]!)) continue;
    const [dst, mask, metric] = [order(f[1]!), order(f[7]!), Number(f[6])];
    if ((addr & mask) >>> 0 !== dst) continue;
    if (!best || mask > best.mask || (mask === best.mask && metric < best.metric))
      best = { dev: f[0]!, mask, metric };
  }
  return best?.dev;
}
