// The suite's nftables state for one network, in its own tables (`inet cni_suite` for NAT and
// filtering, `bridge cni_suite` for same-bridge isolation):
// - per network: sets of pod and cluster addresses, and the chains of the fragments the plugin's
//   config asks for (masquerade, internal, isolation; portmap's DNAT will be one more). The whole is
//   rewritten (flush + add, one transaction) whenever it may differ from what this host last
//   applied, and by every GC, so concurrent ADDs converge and config changes apply; the chain of a
//   fragment no longer asked for is deleted. Masquerade and internal match pod traffic by this
//   host's pod subnets, as flannel and Calico do, so an ADD or DEL starts no `nft` once the rules
//   are in;
// - per attachment, only when the config names no pod subnet (an IPAM it does not describe): its
//   pod addresses as elements of the network's pod sets, with the attachment key as comment, so
//   DEL and GC find them without the container. While no rule reads the pod sets, they are kept
//   empty, and DEL does not look in them.

import { cidrContains, ipFamily } from '../base/ip.js';
import { networkGroup, networkTag } from './attachment.js';
import type { NetworkConfig } from './config.js';
import type { Peer } from './peers.js';

const TABLE = 'cni_suite';

/** A string as an nft quoted string (comments); our values never hold quotes, but be safe. */
export const nftString = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

export type Fragment =
  /** Masquerade pod traffic whose destination is outside the cluster. */
  | { kind: 'masquerade' }
  /** Drop pod traffic whose destination is outside the cluster. */
  | { kind: 'internal' }
  /** Drop traffic between two pod ports of the network (its host links carry the network's group),
   *  except between the `allow` pairs, both ways. */
  | { kind: 'isolation'; allow: readonly { from: string; to: string }[] }
  /** An overlay's tunnel packets (UDP to `port`) skip conntrack: a NAT hook for the pods turns
   *  conntrack on for the whole netns, and tracking every encapsulated packet costs throughput. */
  | { kind: 'untracked'; port: number };

/** The egress fragment a network's config asks for: `internal` drops, `ipMasq` masquerades. */
export function egressFragments(cfg: { internal: boolean; ipMasq: boolean }): Fragment[] {
  if (cfg.internal) return [{ kind: 'internal' }];
  return cfg.ipMasq ? [{ kind: 'masquerade' }] : [];
}

/** A network's firewall from its shared config keys and peers: the cluster is every pod subnet. */
export const networkFirewall = (
  cfg: NetworkConfig,
  peers: readonly Peer[],
  fragments: readonly Fragment[],
): FirewallSpec => ({
  network: cfg.network,
  cluster: [...cfg.clusterCIDR, ...cfg.podCIDRs, ...peers.map((p) => p.podCIDR)],
  podCIDRs: cfg.podCIDRs,
  fragments,
});

export interface FirewallSpec {
  network: string;
  /** Destinations that are never NATed or dropped: the whole pod network across hosts. */
  cluster: readonly string[];
  /** This host's pod subnets: pod traffic is matched by them. Without any, by the pod sets, which
   *  each ADD fills with its addresses. */
  podCIDRs: readonly string[];
  fragments: readonly Fragment[];
}

const names = (network: string) => {
  const t = networkTag(network);
  return {
    pods4: `${t}_pods4`,
    pods6: `${t}_pods6`,
    cluster4: `${t}_cluster4`,
    cluster6: `${t}_cluster6`,
    post: `${t}_post`,
    fwd: `${t}_fwd`,
    iso: `${t}_iso`,
    rawIn: `${t}_rawin`,
    rawOut: `${t}_rawout`,
  };
};
type Names = ReturnType<typeof names>;
const INET = `inet ${TABLE}`;
const BRIDGE = `bridge ${TABLE}`;
const families = (n: Names) =>
  [
    ['ip', n.pods4, n.cluster4],
    ['ip6', n.pods6, n.cluster6],
  ] as const;

interface Chain {
  table: string;
  chain: string;
  hook: string;
}

/** Each fragment's base chains: table, name, hook. */
const FRAGMENT_CHAINS: { [K in Fragment['kind']]: (n: Names) => Chain[] } = {
  masquerade: (n) => [{ table: INET, chain: n.post, hook: 'type nat hook postrouting priority srcnat' }],
  internal: (n) => [{ table: INET, chain: n.fwd, hook: 'type filter hook forward priority filter' }],
  isolation: (n) => [{ table: BRIDGE, chain: n.iso, hook: 'type filter hook forward priority filter' }],
  untracked: (n) => [
    { table: INET, chain: n.rawIn, hook: 'type filter hook prerouting priority raw' },
    { table: INET, chain: n.rawOut, hook: 'type filter hook output priority raw' },
  ],
};

/** A fragment's rules, in its chains. */
function fragmentRules(f: Fragment, n: Names, fw: FirewallSpec): string[] {
  const [first] = FRAGMENT_CHAINS[f.kind](n);
  const rule = (r: string, c: Chain = first!) => `add rule ${c.table} ${c.chain} ${r}`;
  switch (f.kind) {
    case 'untracked':
      return FRAGMENT_CHAINS.untracked(n).map((c) => rule(`udp dport ${f.port} notrack`, c));
    case 'masquerade':
    case 'internal': {
      // fully-random: the source port of a masqueraded flow is drawn at random, not kept. Two pods'
      // UDP flows (DNS) from the same source port otherwise race for one conntrack entry, and the
      // loser's packet is dropped: the 5 s DNS delays of kubernetes #56903 (flannel #1004).
      const verdict = f.kind === 'masquerade' ? 'masquerade fully-random' : 'drop';
      return podSources(fw, n).map(([fam, pods, cluster]) =>
        rule(`${fam} saddr ${pods} ${fam} daddr != @${cluster} ${verdict}`),
      );
    }
    case 'isolation': {
      const group = networkGroup(fw.network);
      const ports = `meta iifgroup ${group} meta oifgroup ${group}`;
      // ARP must pass for allowed pairs to find each other; it carries no payload between pods.
      const lines = f.allow.length ? [rule(`${ports} ether type arp accept`)] : [];
      for (const { from, to } of f.allow) {
        const fam = ipFamily(from) === 4 ? 'ip' : 'ip6';
        lines.push(rule(`${ports} ${fam} saddr ${from} ${fam} daddr ${to} accept`));
        lines.push(rule(`${ports} ${fam} saddr ${to} ${fam} daddr ${from} accept`));
      }
      return [...lines, rule(`${ports} drop`)];
    }
  }
}

/**
 * Per family: how a rule matches the network's pods (this host's pod subnets of that family, or
 * the pod set when the config names no pod subnet at all), and the cluster set.
 */
function podSources(fw: FirewallSpec, n: Names): [family: string, pods: string, cluster: string][] {
  return families(n).flatMap(([fam, pods, cluster]) => {
    if (!fw.podCIDRs.length) return [[fam, `@${pods}`, cluster]];
    const cidrs = fw.podCIDRs.filter((c) => ipFamily(c) === (fam === 'ip' ? 4 : 6));
    return cidrs.length ? [[fam, `{ ${cidrs.join(', ')} }`, cluster]] : [];
  });
}

/** The nft script that (re)writes the network's sets and fragment chains; idempotent. */
export function networkScript(fw: FirewallSpec): string {
  const n = names(fw.network);
  const lines = [
    `add table ${INET}`,
    `add set ${INET} ${n.pods4} { type ipv4_addr; }`,
    `add set ${INET} ${n.pods6} { type ipv6_addr; }`,
    `add set ${INET} ${n.cluster4} { type ipv4_addr; flags interval; auto-merge; }`,
    `add set ${INET} ${n.cluster6} { type ipv6_addr; flags interval; auto-merge; }`,
    `flush set ${INET} ${n.cluster4}`,
    `flush set ${INET} ${n.cluster6}`,
    `add table ${BRIDGE}`,
  ];
  for (const fam of [4, 6] as const) {
    const cidrs = fw.cluster.filter((c) => ipFamily(c) === fam);
    if (cidrs.length)
      lines.push(`add element ${INET} ${fam === 4 ? n.cluster4 : n.cluster6} { ${cidrs.join(', ')} }`);
  }
  // Only the hooks a setting needs exist: an empty base chain still costs every packet a call.
  for (const kind of Object.keys(FRAGMENT_CHAINS) as Fragment['kind'][]) {
    const chains = FRAGMENT_CHAINS[kind](n);
    const wanted = fw.fragments.find((f) => f.kind === kind);
    // Added first so that flushing or deleting them cannot fail.
    for (const { table, chain, hook } of chains)
      lines.push(`add chain ${table} ${chain} { ${hook}; policy accept; }`, `flush chain ${table} ${chain}`);
    if (wanted) lines.push(...fragmentRules(wanted, n, fw));
    else for (const { table, chain } of chains) lines.push(`delete chain ${table} ${chain}`);
  }
  // Pod sets no rule reads stay empty (entries of an earlier config go): DEL need not look in them.
  if (!usesPodSets(fw)) lines.push(`flush set ${INET} ${n.pods4}`, `flush set ${INET} ${n.pods6}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Do the network's rules match on its pod sets (masquerade or internal, and no pod subnet named)?
 * Without that, an attachment's addresses are not written there: its ADD, CHECK and DEL start no
 * `nft` once the rules are in place (GC still looks, in case the config changed since).
 */
export const usesPodSets = (fw: FirewallSpec): boolean => !fw.podCIDRs.length && matchesPods(fw);

/** Does a rule of the network match its pods' traffic (masquerade, internal)? */
const matchesPods = (fw: FirewallSpec): boolean =>
  fw.fragments.some((f) => f.kind === 'masquerade' || f.kind === 'internal');

/** The addresses that rules matching by the pod subnets do not cover (none when no rule reads). */
export function unmatchedAddresses(fw: FirewallSpec, addresses: readonly string[]): string[] {
  if (!fw.podCIDRs.length || !matchesPods(fw)) return [];
  return addresses.filter((a) => !fw.podCIDRs.some((c) => cidrContains(c, a.split('/')[0]!)));
}

/**
 * Lines adding an attachment's pod addresses to the network's pod sets. An entry an earlier owner of
 * the address left behind (its DEL could not reach nft) is replaced, not kept: adding an element
 * that exists keeps its old comment, and GC would then take the new pod's entry for the stale one.
 */
export function attachmentScript(network: string, key: string, addresses: readonly string[]): string {
  return addresses
    .map((a) => {
      const [set, ip] = podElement(network, a);
      return `add element ${set} { ${ip} }\ndelete element ${set} { ${ip} }\nadd element ${set} { ${ip} comment ${nftString(key)} }\n`;
    })
    .join('');
}

/** The pod set (`inet cni_suite <set>`) an address belongs in, and the address without its prefix. */
function podElement(network: string, address: string): [set: string, ip: string] {
  const n = names(network);
  return [`${INET} ${ipFamily(address) === 4 ? n.pods4 : n.pods6}`, address.split('/')[0]!];
}

/** The table the network's elements live in, for `nft -j list table …`. */
export const INET_TABLE = ['inet', TABLE] as const;

/** A pod-set element as listed: its set, address and attachment key (the comment). */
export interface Element {
  set: string;
  addr: string;
  key: string | undefined;
}

/** The network's pod-set elements in `nft -j list table inet cni_suite` output. */
export function parseAttachments(network: string, nftables: readonly Record<string, unknown>[]): Element[] {
  const n = names(network);
  const out: Element[] = [];
  for (const obj of nftables) {
    const set = obj.set as { name?: string; elem?: unknown[] } | undefined;
    if (!set || (set.name !== n.pods4 && set.name !== n.pods6)) continue;
    for (const e of set.elem ?? []) {
      if (typeof e === 'string') out.push({ set: set.name, addr: e, key: undefined });
      else {
        const v = (e as { elem?: { val?: unknown; comment?: string } }).elem;
        if (v && typeof v.val === 'string') out.push({ set: set.name, addr: v.val, key: v.comment });
      }
    }
  }
  return out;
}

/**
 * CHECK's firewall difference in a listing of the inet table: a chain the network's fragments need
 * that is missing (the rules were removed, e.g. by a ruleset flush), or, when the rules read the
 * pod sets, an address of the attachment missing there.
 */
export function firewallDifference(
  fw: FirewallSpec,
  key: string,
  addresses: readonly string[],
  listing: readonly Record<string, unknown>[],
): string | undefined {
  const present = new Set<string>();
  for (const o of listing) {
    const chain = o.chain as { name?: string } | undefined;
    if (chain?.name) present.add(chain.name);
  }
  const missing = inetChains(fw).find((c) => !present.has(c.chain));
  if (missing) return `firewall chain ${missing.table} ${missing.chain} of network ${fw.network} is missing`;
  if (!usesPodSets(fw)) return undefined;
  const held = parseAttachments(fw.network, listing).filter((e) => e.key === key);
  const absent = addresses.map((a) => a.split('/')[0]!).find((a) => !held.some((e) => e.addr === a));
  return absent && `firewall entry for ${absent} (${key}) is missing`;
}

/** The network's chains in the inet table (none: CHECK need not list it). */
export const inetChains = (fw: FirewallSpec): Chain[] =>
  fw.fragments.flatMap((f) => FRAGMENT_CHAINS[f.kind](names(fw.network))).filter((c) => c.table === INET);

/** Removes addresses' pod-set elements, each added first so that removing it cannot fail. */
export const elementRemovalScript = (network: string, addresses: readonly string[]): string =>
  addresses
    .map((a) => {
      const [set, ip] = podElement(network, a);
      return `add element ${set} { ${ip} }\ndelete element ${set} { ${ip} }\n`;
    })
    .join('');

/** Removes listed elements. */
export const elementDeletionScript = (doomed: readonly Element[]): string =>
  doomed.map((e) => `delete element ${INET} ${e.set} { ${e.addr} }\n`).join('');

/** Removes the network's chains and sets, each added first so that removing it cannot fail. */
export function networkRemovalScript(fw: FirewallSpec): string {
  const n = names(fw.network);
  const lines = [`add table ${INET}`, `add table ${BRIDGE}`];
  // The sets as networkScript adds them (with their types), then the chains and sets deleted.
  lines.push(
    ...networkScript(fw)
      .split('\n')
      .filter((l) => l.startsWith(`add set ${INET}`)),
  );
  for (const kind of Object.keys(FRAGMENT_CHAINS) as Fragment['kind'][])
    for (const { table, chain, hook } of FRAGMENT_CHAINS[kind](n))
      lines.push(`add chain ${table} ${chain} { ${hook}; policy accept; }`, `delete chain ${table} ${chain}`);
  for (const [, pods, cluster] of families(n))
    lines.push(`delete set ${INET} ${pods}`, `delete set ${INET} ${cluster}`);
  return `${lines.join('\n')}\n`;
}

/** The suite's tables, for `nft -j list table …` and `delete table …`. */
export const SUITE_TABLES = [
  ['inet', TABLE],
  ['bridge', TABLE],
] as const;

/** A table listing holds nothing of anyone's (no chain, set, map or flowtable). */
export const isEmptyTable = (listing: readonly Record<string, unknown>[]): boolean =>
  !listing.some((o) => 'chain' in o || 'set' in o || 'map' in o || 'flowtable' in o);
