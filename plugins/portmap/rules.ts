// portmap's nftables state, pure: the elements an attachment needs, the scripts that write them,
// and the parse of what the host holds. Everything lives in one table of ours:
// - maps pm4_any/pm6_any (protocol . port) and pm4_ip/pm6_ip (host address . protocol . port) to
//   (pod address . container port), read by one DNAT chain that prerouting and output jump to for
//   packets to a local address;
// - sets pm4_snat/pm6_snat of (pod address . source network): DNATed connections to that pod from
//   that network are masqueraded (hairpin from the pod's own subnet, and 127.0.0.0/8 for localhost).
// Each element carries its attachment as comment (`owner`), so DEL and GC find it without the
// runtime's portMappings, and a second attachment asking for a held port is refused by name.

import { type Family, networkOf, parseCidr } from '../../lib/base/ip.js';
import { CniError, configError, PluginCode } from '../../lib/cni/errors.js';
import type { Result } from '../../lib/cni/result.js';
import { NFT_COMMENT_MAX, shortHash } from '../../lib/plan/attachment.js';
import { nftString } from '../../lib/plan/firewall.js';
import type { AttachmentId } from '../../lib/plan/model.js';
import { overlaps, type PortMapping, type PortmapConfig, type Protocol } from './config.js';

export const TABLE = 'inet cni_suite_portmap';

/** One element of our maps and sets, as planned or as read back. */
export interface Element {
  /** pm4_any, pm4_ip, pm6_any, pm6_ip, pm4_snat, pm6_snat */
  set: string;
  /** The key's parts, as nft prints them: ["tcp", "8080"], ["192.0.2.1", "udp", "53"], ["10.1.0.5", "10.1.0.0/24"]. */
  parts: string[];
  /** A map element's value: "10.1.0.5 . 80". */
  value: string | undefined;
  owner: string | undefined;
}

/**
 * The UDP host ports that DNAT elements map, per family ("pm4_any" → 4): a mapping's flows that
 * conntrack still holds keep the translation they had, so DEL and GC flush them as ADD does.
 */
export function udpPortsOf(elements: readonly Element[]): { family: Family; port: number }[] {
  const out = new Map<string, { family: Family; port: number }>();
  for (const e of elements) {
    const family = e.set.startsWith('pm6') ? 6 : 4;
    const [proto, port] = e.parts.slice(-2);
    if (e.set.endsWith('_snat') || proto !== 'udp') continue;
    out.set(`${family}/${port}`, { family, port: Number(port) });
  }
  return [...out.values()];
}

/** The comment that marks an attachment's elements: network/containerID/ifname, or a hash if too long. */
export function ownerKey(a: AttachmentId): string {
  const full = `${a.network}/${a.containerId}/${a.ifname}`;
  return Buffer.byteLength(full) <= NFT_COMMENT_MAX
    ? full
    : `${a.network}/#${shortHash(a.containerId, a.ifname)}`;
}

export interface PodAddress {
  family: Family;
  ip: string;
  /** Its on-link network, e.g. 10.1.0.0/24. */
  network: string;
}

/** The pod's first address of each family, on its sandbox interfaces (or on no named interface). */
export function podAddresses(prev: Result): PodAddress[] {
  const out: PodAddress[] = [];
  for (const ipc of prev.ips) {
    const itf = ipc.interface === undefined ? undefined : prev.interfaces[ipc.interface];
    if (itf && !itf.sandbox) continue;
    const c = parseCidr(ipc.address);
    if (!c || out.some((a) => a.family === c.ip.family)) continue;
    out.push({ family: c.ip.family, ip: ipc.address.split('/')[0]!, network: networkOf(c) });
  }
  return out;
}

const mapOf = (family: Family, hostIP: string | undefined) => `pm${family}_${hostIP ? 'ip' : 'any'}`;

/** The DNAT elements (and SNAT elements with `snat`) of an attachment's mappings. */
export function plannedElements(cfg: PortmapConfig, pod: readonly PodAddress[], owner: string): Element[] {
  const out: Element[] = [];
  const mapped = new Set<Family>();
  for (const m of cfg.mappings) {
    const families = m.families.filter((f) => pod.some((a) => a.family === f));
    if (!families.length)
      throw configError(
        `${m.where}.hostIP ${m.hostIP} is IPv${m.families[0]}, but prevResult gives the pod no IPv${m.families[0]} address`,
      );
    for (const f of families) {
      const target = pod.find((a) => a.family === f)!;
      mapped.add(f);
      out.push({
        set: mapOf(f, m.hostIP),
        parts: [...(m.hostIP ? [m.hostIP] : []), m.protocol, String(m.hostPort)],
        value: `${target.ip} . ${m.containerPort}`,
        owner,
      });
    }
  }
  if (cfg.snat)
    for (const a of pod.filter((a) => mapped.has(a.family))) {
      const sources = a.family === 4 ? [a.network, '127.0.0.0/8'] : [a.network];
      for (const src of sources)
        out.push({ set: `pm${a.family}_snat`, parts: [a.ip, src], value: undefined, owner });
    }
  return out;
}

/** What a DNAT element receives: protocol, port, host address (undefined: any) and family. */
function receives(
  e: Element,
): Pick<PortMapping, 'protocol' | 'hostPort' | 'hostIP' | 'families'> | undefined {
  const m = /^pm([46])_(any|ip)$/.exec(e.set);
  if (!m) return undefined;
  const [hostIP, protocol, port] = m[2] === 'ip' ? e.parts : [undefined, ...e.parts];
  return {
    protocol: protocol as Protocol,
    hostPort: Number(port),
    hostIP,
    families: [Number(m[1]) as Family],
  };
}

/** Code 106 naming the attachment that holds a host port one of `planned` asks for. */
export function refuseHeld(planned: readonly Element[], held: readonly Element[], owner: string): void {
  for (const p of planned) {
    const want = receives(p);
    if (!want) continue;
    const holder = held.find((h) => h.owner !== owner && overlaps(want, receives(h) ?? NOTHING));
    if (holder)
      throw new CniError(
        PluginCode.PortInUse,
        `host port ${want.protocol}/${want.hostPort}${want.hostIP ? ` on ${want.hostIP}` : ''} (IPv${want.families[0]}) is already mapped to ${holder.value?.replace(' . ', ':')} for ${holder.owner ?? 'an element without owner'} (network/containerID/ifname)`,
      );
  }
}
const NOTHING = { protocol: 'tcp' as const, hostPort: 0, hostIP: undefined, families: [] };

/** The table, maps, sets and chains (rules rewritten); idempotent. */
export function baseScript(): string {
  const t = TABLE;
  const lines = [`add table ${t}`];
  for (const [f, addr] of [
    [4, 'ipv4_addr'],
    [6, 'ipv6_addr'],
  ] as const) {
    lines.push(
      `add map ${t} pm${f}_any { type inet_proto . inet_service : ${addr} . inet_service; }`,
      `add map ${t} pm${f}_ip { type ${addr} . inet_proto . inet_service : ${addr} . inet_service; }`,
      `add set ${t} pm${f}_snat { type ${addr} . ${addr}; flags interval; }`,
    );
  }
  const chains: [string, string][] = [
    ['dnat', ''],
    ['pre', '{ type nat hook prerouting priority dstnat; policy accept; }'],
    ['out', '{ type nat hook output priority -100; policy accept; }'],
    ['post', '{ type nat hook postrouting priority srcnat; policy accept; }'],
  ];
  for (const [c, hook] of chains)
    lines.push(`add chain ${t} pm_${c} ${hook}`.trimEnd(), `flush chain ${t} pm_${c}`);
  const rule = (chain: string, r: string) => lines.push(`add rule ${t} pm_${chain} ${r}`);
  // Only packets to an address of this host are translated: any other destination is not ours.
  rule('pre', 'fib daddr type local jump pm_dnat');
  rule('out', 'fib daddr type local jump pm_dnat');
  for (const [f, fam] of [
    [4, 'ip'],
    [6, 'ip6'],
  ] as const) {
    rule('dnat', `dnat ${fam} to ${fam} daddr . meta l4proto . th dport map @pm${f}_ip`);
    rule(
      'dnat',
      `meta nfproto ${fam === 'ip' ? 'ipv4' : 'ipv6'} dnat ${fam} to meta l4proto . th dport map @pm${f}_any`,
    );
    // fully-random, as every masquerade of the suite (see lib/plan/firewall.ts).
    rule('post', `ct status dnat ${fam} daddr . ${fam} saddr @pm${f}_snat masquerade fully-random`);
  }
  return `${lines.join('\n')}\n`;
}

const elementText = (e: Element) =>
  `${e.parts.join(' . ')}${e.owner === undefined ? '' : ` comment ${nftString(e.owner)}`}${e.value === undefined ? '' : ` : ${e.value}`}`;

export const addScript = (elements: readonly Element[]) =>
  elements.map((e) => `add element ${TABLE} ${e.set} { ${elementText(e)} }\n`).join('');

export const deleteScript = (elements: readonly Element[]) =>
  elements.map((e) => `delete element ${TABLE} ${e.set} { ${e.parts.join(' . ')} }\n`).join('');

/** When nothing of ours is left, the whole table goes: no hook is left for packets to pass. */
export const dropTableScript = () => `delete table ${TABLE}\n`;

/** Same element: same set and key; `exact` also compares value and owner. */
export const sameElement = (a: Element, b: Element, exact = false) =>
  a.set === b.set &&
  a.parts.join(' . ') === b.parts.join(' . ') &&
  (!exact || (a.value === b.value && a.owner === b.owner));

export interface Table {
  elements: Element[];
  chains: string[];
}

/** `nft -j list table inet cni_suite_portmap` output → our elements and chain names. */
export function parseTable(nftables: readonly Record<string, unknown>[]): Table {
  const elements: Element[] = [];
  const chains: string[] = [];
  for (const obj of nftables) {
    const chain = obj.chain as { name?: string } | undefined;
    if (chain?.name) chains.push(chain.name);
    const set = (obj.map ?? obj.set) as { name?: string; elem?: unknown[] } | undefined;
    if (!set?.name) continue;
    for (const raw of set.elem ?? []) {
      const [k, v] = Array.isArray(raw) ? raw : [raw, undefined];
      const wrapped = (k as { elem?: { val?: unknown; comment?: string } }).elem;
      elements.push({
        set: set.name,
        parts: concatParts(wrapped ? wrapped.val : k),
        value: v === undefined ? undefined : concatParts(v).join(' . '),
        owner: wrapped?.comment,
      });
    }
  }
  return { elements, chains };
}

function concatParts(v: unknown): string[] {
  const items = (v as { concat?: unknown[] })?.concat ?? [v];
  return items.map((p) => {
    const prefix = (p as { prefix?: { addr: string; len: number } })?.prefix;
    return prefix ? `${prefix.addr}/${prefix.len}` : String(p);
  });
}
