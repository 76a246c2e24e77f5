// The suite's nftables state for one network, in its own tables (`inet cni_suite` for NAT and
// filtering, `bridge cni_suite` for same-bridge isolation):
// - per network: base chains and sets named after the network's tag, rewritten whole (flush + add
//   in one transaction) whenever they may differ from what this host last applied, and by every
//   GC, so concurrent ADDs converge and config changes apply;
// - per attachment: its pod addresses as elements of the network's pod sets, with the attachment
//   key as comment, so DEL and GC find them without the container.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ipFamily } from '../cni/result.js';
import { ownNetnsId } from '../sys/netns.js';
import { nftApply, nftList, nftString } from '../sys/nft.js';
import { networkGroup, networkTag, shortHash } from './attachment.js';

const TABLE = 'cni_suite';

export interface NetworkFirewall {
  network: string;
  /** Masquerade pod traffic whose destination is outside `cluster`. */
  ipMasq: boolean;
  /** Drop pod traffic whose destination is outside `cluster`. */
  internal: boolean;
  /** Drop traffic between two pod ports of the network (its host veths carry the network's group). */
  isolateBridge: boolean;
  /** With isolateBridge: address pairs still allowed to talk, both ways. */
  isolationAllow?: readonly { from: string; to: string }[];
  /** Destinations that are never NATed: the whole pod network across hosts. */
  cluster: readonly string[];
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
  };
};

/** The nft script that (re)writes the network's chains and sets; idempotent. */
export function networkScript(fw: NetworkFirewall): string {
  const n = names(fw.network);
  const inet = `inet ${TABLE}`;
  const lines = [
    `add table ${inet}`,
    `add set ${inet} ${n.pods4} { type ipv4_addr; }`,
    `add set ${inet} ${n.pods6} { type ipv6_addr; }`,
    `add set ${inet} ${n.cluster4} { type ipv4_addr; flags interval; auto-merge; }`,
    `add set ${inet} ${n.cluster6} { type ipv6_addr; flags interval; auto-merge; }`,
    `flush set ${inet} ${n.cluster4}`,
    `flush set ${inet} ${n.cluster6}`,
  ];
  for (const fam of [4, 6] as const) {
    const cidrs = fw.cluster.filter((c) => ipFamily(c) === fam);
    if (cidrs.length)
      lines.push(`add element ${inet} ${fam === 4 ? n.cluster4 : n.cluster6} { ${cidrs.join(', ')} }`);
  }
  // Only the hooks a setting needs exist: an empty base chain still costs every packet a call.
  const masq = fw.ipMasq && !fw.internal;
  lines.push(...baseChain(inet, n.post, 'type nat hook postrouting priority srcnat', masq));
  lines.push(...baseChain(inet, n.fwd, 'type filter hook forward priority filter', fw.internal));
  for (const [fam, pods, cluster] of [
    ['ip', n.pods4, n.cluster4],
    ['ip6', n.pods6, n.cluster6],
  ] as const) {
    const leaving = `${fam} saddr @${pods} ${fam} daddr != @${cluster}`;
    if (fw.internal) lines.push(`add rule ${inet} ${n.fwd} ${leaving} drop`);
    else if (masq) lines.push(`add rule ${inet} ${n.post} ${leaving} masquerade`);
  }
  const bridge = `bridge ${TABLE}`;
  const group = networkGroup(fw.network);
  lines.push(
    `add table ${bridge}`,
    ...baseChain(bridge, n.iso, 'type filter hook forward priority filter', fw.isolateBridge),
  );
  if (fw.isolateBridge) {
    const ports = `meta iifgroup ${group} meta oifgroup ${group}`;
    // ARP must pass for allowed pairs to find each other; it carries no payload between pods.
    if (fw.isolationAllow?.length) lines.push(`add rule ${bridge} ${n.iso} ${ports} ether type arp accept`);
    for (const { from, to } of fw.isolationAllow ?? []) {
      const fam = ipFamily(from) === 4 ? 'ip' : 'ip6';
      lines.push(`add rule ${bridge} ${n.iso} ${ports} ${fam} saddr ${from} ${fam} daddr ${to} accept`);
      lines.push(`add rule ${bridge} ${n.iso} ${ports} ${fam} saddr ${to} ${fam} daddr ${from} accept`);
    }
    lines.push(`add rule ${bridge} ${n.iso} ${ports} drop`);
  }
  return `${lines.join('\n')}\n`;
}

/** A base chain, emptied; or, when not `wanted`, removed (add first so the removal cannot fail). */
function baseChain(table: string, name: string, hook: string, wanted: boolean): string[] {
  const lines = [`add chain ${table} ${name} { ${hook}; policy accept; }`, `flush chain ${table} ${name}`];
  if (!wanted) lines.push(`delete chain ${table} ${name}`);
  return lines;
}

/** Lines adding an attachment's pod addresses to the network's pod sets. */
export function attachmentScript(network: string, key: string, addresses: readonly string[]): string {
  const n = names(network);
  return addresses
    .map(
      (a) =>
        `add element inet ${TABLE} ${ipFamily(a) === 4 ? n.pods4 : n.pods6} { ${a.split('/')[0]} comment ${nftString(key)} }\n`,
    )
    .join('');
}

/** Where the digest of the last applied network rules is kept: tmpfs, gone at reboot like the rules. */
const STAMP_DIR = '/run/cni-suite';

/** The stamp file of a network in this netns (netns "hosts" on one machine share /run, not rules). */
function stampFile(network: string): string | undefined {
  const netns = ownNetnsId();
  return netns ? `${STAMP_DIR}/${networkTag(network)}-${netns}.nft` : undefined;
}

function readStamp(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Best effort: without a stamp the next ADD just rewrites the rules. */
function writeStamp(file: string, digest: string): void {
  try {
    mkdirSync(STAMP_DIR, { recursive: true, mode: 0o700 });
    writeFileSync(file, digest, { mode: 0o600 });
  } catch {
    // read-only /run: always take the full path
  }
}

/**
 * The network's rules and one attachment's addresses, in one transaction. When the rules are what
 * this host last applied, only the addresses are added (half the cost); if that finds the table or
 * a set gone, everything is written again.
 */
export async function ensureFirewall(
  fw: NetworkFirewall,
  key: string,
  addresses: readonly string[],
): Promise<void> {
  const rules = networkScript(fw);
  const elements = attachmentScript(fw.network, key, addresses);
  const stamp = stampFile(fw.network);
  if (stamp && readStamp(stamp) === shortHash(rules)) {
    try {
      return await nftApply(elements);
    } catch {
      // rules were removed behind our back: rewrite them below
    }
  }
  await nftApply(rules + elements);
  if (stamp) writeStamp(stamp, shortHash(rules));
}

/** Rewrites the network's rules unconditionally (GC: heals what was changed by hand). */
export async function applyNetworkRules(fw: NetworkFirewall): Promise<void> {
  const rules = networkScript(fw);
  await nftApply(rules);
  const stamp = stampFile(fw.network);
  if (stamp) writeStamp(stamp, shortHash(rules));
}

interface Element {
  set: string;
  addr: string;
  key: string | undefined;
}

/** The network's pod-set elements with their attachment keys, read with one `nft` run. */
export async function listAttachments(network: string): Promise<Element[]> {
  const n = names(network);
  const out: Element[] = [];
  for (const obj of await nftList(['list', 'table', 'inet', TABLE])) {
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

/** Removes the elements of every attachment for which `drop(key)` is true; retried if a concurrent change races us. */
export async function removeAttachments(
  network: string,
  drop: (key: string | undefined) => boolean,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const doomed = (await listAttachments(network)).filter((e) => drop(e.key));
    if (!doomed.length) return 0;
    try {
      await nftApply(doomed.map((e) => `delete element inet ${TABLE} ${e.set} { ${e.addr} }\n`).join(''));
      return doomed.length;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** The attachments of the network present in its firewall, as keys. */
export async function firewallKeys(network: string): Promise<Map<string, string[]>> {
  const keys = new Map<string, string[]>();
  for (const e of await listAttachments(network))
    if (e.key) keys.set(e.key, [...(keys.get(e.key) ?? []), e.addr]);
  return keys;
}
