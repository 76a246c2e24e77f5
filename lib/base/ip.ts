// The suite's one IP/CIDR module: addresses as (family, bigint), their text forms, and the CIDR
// checks config and results need. host-local names lease files by the address as Go's
// net.IP.String() prints it (RFC 5952 for IPv6), so formatting must match it exactly.
// Hand-written rather than ip-address: that library costs ~5 ms of start-up on every call
// (measured, see the bench), and the math needed here is a few lines of bigint.

export type Family = 4 | 6;

export interface Ip {
  family: Family;
  value: bigint;
}

export interface Cidr {
  /** The address as written, host bits included. */
  ip: Ip;
  prefix: number;
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

/** Parses a plain IPv4 or IPv6 address (no prefix, no zone); undefined when it is not one. */
export function parseIp(s: string): Ip | undefined {
  if (s.includes(':')) return parseIp6(s);
  const v = parseIp4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** Parses "addr/prefix"; undefined when either part is malformed. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(bits) || Number(bits) > bitsOf(ip.family)) return undefined;
  return { ip, prefix: Number(bits) };
}

/** Go's net.IP.String(): dotted quad, or RFC 5952 (lower case, longest zero run ≥ 2 groups as "::"). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return formatIp4(ip.value);
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // Go prints IPv4-mapped addresses (::ffff:a.b.c.d) as plain IPv4.
  if (ip.value >> 32n === 0xffffn) return formatIp4(ip.value & 0xffffffffn);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

export const formatCidr = (ip: Ip, prefix: number): string => `${formatIp(ip)}/${prefix}`;

/** The network mask of a prefix as a bigint of the family's width. */
export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

function parseIp4(s: string): bigint | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let v = 0n;
  for (const part of m.slice(1)) {
    // Leading zeros are refused, as Go does: "010" is octal to some parsers and decimal to others.
    if ((part.length > 1 && part.startsWith('0')) || Number(part) > 255) return undefined;
    v = (v << 8n) | BigInt(part);
  }
  return v;
}

function formatIp4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

function parseIp6(s: string): Ip | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (const [i, item] of items.entries()) {
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIp4(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) out.push(Number.parseInt(item, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 part may only end the address.
  if (halves.length === 2 && (halves[0] ?? '').includes('.')) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  let v = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail]) v = (v << 16n) | BigInt(g);
  return { family: 6, value: v };
}

/** "4" or "6" for an address or CIDR string (assumed valid). */
export const ipFamily = (addrOrCidr: string): Family => (addrOrCidr.includes(':') ? 6 : 4);

/** True for a plain IPv4 or IPv6 address. */
export const isIp = (s: string): boolean => parseIp(s) !== undefined;

/** True for "addr/prefix" with a valid address and a prefix inside its family's width. */
export const isCidr = (s: string): boolean => parseCidr(s) !== undefined;

/** The network of a CIDR with the host bits cleared, e.g. "10.1.0.5/24" → "10.1.0.0/24". */
export function networkOf(c: Cidr): string {
  return formatCidr({ family: c.ip.family, value: c.ip.value & maskOf(c.ip.family, c.prefix) }, c.prefix);
}

/**
 * Why `s` is not a network CIDR (a subnet with no host bits set), or undefined when it is one;
 * the reason says what to write instead.
 */
export function subnetProblem(s: string): string | undefined {
  const c = parseCidr(s);
  if (!c) return 'is not a CIDR, e.g. "10.244.2.0/24"';
  const net = networkOf(c);
  return net === formatCidr(c.ip, c.prefix) ? undefined : `has host bits set; use "${net}"`;
}

/** Same destination, whatever the spelling: `ip -j` prints host routes without a prefix. */
export function sameDst(cidr: string, dst: string): boolean {
  const full = dst === 'default' ? (cidr.includes(':') ? '::/0' : '0.0.0.0/0') : dst;
  const a = parseCidr(cidr);
  const b = parseCidr(full.includes('/') ? full : `${full}/${full.includes(':') ? 128 : 32}`);
  return !!a && !!b && a.prefix === b.prefix && a.ip.family === b.ip.family && a.ip.value === b.ip.value;
}

/** True when `ip` lies inside `cidr` (same family, same network bits). */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  if (!c || !a || c.ip.family !== a.family) return false;
  const mask = maskOf(a.family, c.prefix);
  return (c.ip.value & mask) === (a.value & mask);
}
