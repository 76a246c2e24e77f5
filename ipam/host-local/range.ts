// Range sets: which addresses a range offers, and the round-robin order the allocator tries them in.
import { bitsOf, type Family, formatCidr, formatIp, type Ip, maskOf } from '../../lib/base/ip.js';

/** One `{subnet, rangeStart, rangeEnd, gateway}` with its defaults applied. */
export interface Range {
  family: Family;
  /** Network address of the subnet. */
  network: bigint;
  prefix: number;
  /** First and last allocatable address, inclusive. */
  start: bigint;
  end: bigint;
  gateway: bigint;
}

/** One address per attachment comes from each range set; all its ranges have one family. */
export type RangeSet = Range[];

export const subnetText = (r: Range): string => formatCidr(ipOf(r, r.network), r.prefix);
export const ipOf = (r: Range, value: bigint): Ip => ({ family: r.family, value });
export const rangeText = (r: Range): string => `${formatIp(ipOf(r, r.start))}-${formatIp(ipOf(r, r.end))}`;
export const setText = (set: RangeSet): string => set.map(rangeText).join(',');

/** The last address of the subnet (the broadcast address in IPv4). */
export function broadcastOf(r: Range): bigint {
  return r.network | (maskOf(r.family, bitsOf(r.family)) ^ maskOf(r.family, r.prefix));
}

export const inSubnet = (r: Range, ip: Ip): boolean =>
  ip.family === r.family && (ip.value & maskOf(r.family, r.prefix)) === r.network;

export const inRange = (r: Range, ip: Ip): boolean =>
  ip.family === r.family && ip.value >= r.start && ip.value <= r.end;

export const rangeFor = (set: RangeSet, ip: Ip): Range | undefined => set.find((r) => inRange(r, ip));

/** Never handed out: the gateway, the network address and (IPv4) the broadcast address. */
export function isUsable(r: Range, value: bigint): boolean {
  if (value === r.gateway || value === r.network) return false;
  return r.family === 6 || value !== broadcastOf(r);
}

/** Usable addresses in the set, for deciding whether it can be exhausted. */
export function usableCount(set: RangeSet): bigint {
  let n = 0n;
  for (const r of set) {
    n += r.end - r.start + 1n;
    for (const v of new Set([r.gateway, r.network, broadcastOf(r)])) if (v >= r.start && v <= r.end) n--;
  }
  return n;
}

/**
 * Candidates in round-robin order, as the reference allocator walks them: from the address after
 * `last` (when it lies in the set) through the end of its range, the following ranges, and around
 * to `last` itself; from the first range's start otherwise.
 */
export function* candidates(set: RangeSet, last: Ip | undefined): Generator<{ range: Range; value: bigint }> {
  let first = 0;
  let from = set[0]!.start;
  const k = last ? set.findIndex((r) => inRange(r, last)) : -1;
  if (last && k >= 0) [first, from] = [k, last.value + 1n];
  for (let n = 0; n <= set.length; n++) {
    const range = set[(first + n) % set.length]!;
    const lo = n === 0 ? from : range.start;
    const hi = n === set.length ? from - 1n : range.end;
    for (let v = lo; v <= hi; v++) if (isUsable(range, v)) yield { range, value: v };
  }
}
