// The network's nftables state on this host (rules from lib/plan/firewall.ts): written when it
// may differ from what this host last applied (a stamp), its elements added and removed per
// attachment, read for CHECK, and removed again by a failed first ADD.
import {
  attachmentScript,
  type Element,
  elementDeletionScript,
  elementRemovalScript,
  type FirewallSpec,
  firewallDifference,
  INET_TABLE,
  inetChains,
  isEmptyTable,
  networkRemovalScript,
  networkScript,
  parseAttachments,
  SUITE_TABLES,
  usesPodSets,
} from '../plan/firewall.js';
import { type Host, NotInstalledError } from './seam.js';

/**
 * How long ADD trusts the rules this host applied to be in place: an ADD after that writes them
 * again (one `nft` run), restoring a table removed by hand or a ruleset flushed by a firewall reload
 * even when no ADD writes pod-set elements. GC always writes them.
 */
export const RULES_TRUSTED_MS = 30_000;

/**
 * The network's rules and one attachment's addresses, in one transaction. When the rules are what
 * this host applied in the last RULES_TRUSTED_MS, only the addresses are added (half the cost), or
 * nothing at all when no rule reads the pod sets; if adding finds the table or a set gone,
 * everything is written again.
 */
export async function ensureFirewall(
  host: Host,
  fw: FirewallSpec,
  key: string,
  addresses: readonly string[],
): Promise<void> {
  const rules = networkScript(fw);
  const elements = usesPodSets(fw) ? attachmentScript(fw.network, key, addresses) : '';
  const applied = host.stamp(fw.network, 'nft');
  if (applied.matches(rules, RULES_TRUSTED_MS)) {
    if (!elements) return;
    try {
      return await host.nftApply(elements);
    } catch {
      // rules were removed behind our back: rewrite them below
    }
  }
  await applyRules(host, fw, rules, elements);
}

/** Rewrites the network's rules unconditionally (GC: heals what was changed by hand). */
export async function applyNetworkRules(host: Host, fw: FirewallSpec): Promise<void> {
  await applyRules(host, fw, networkScript(fw), '');
}

/**
 * Writes the rules (and elements) and stamps them. Whether the pod sets are read is stamped too,
 * for DEL: as read before rules that read them go in, as unread only once they are in (and the
 * sets emptied), so a DEL racing a config change looks rather than misses an entry.
 */
async function applyRules(host: Host, fw: FirewallSpec, rules: string, elements: string): Promise<void> {
  const podSets = host.stamp(fw.network, 'podsets');
  if (usesPodSets(fw)) podSets.record(POD_SETS_READ);
  await host.nftApply(rules + elements);
  host.stamp(fw.network, 'nft').record(rules);
  if (!usesPodSets(fw)) podSets.record(POD_SETS_UNREAD);
}

/**
 * Removes a network's chains and sets (a failed ADD that wrote them on a host where the network had
 * nothing else), then each suite table left empty. One `nft` run to remove, one per table to look.
 * A concurrent first ADD of another network may add to a table between the two: its rules are then
 * rewritten by its next ADD after RULES_TRUSTED_MS or by GC, as after a ruleset flush.
 */
export async function removeNetworkFirewall(host: Host, fw: FirewallSpec): Promise<void> {
  host.stamp(fw.network, 'nft').forget();
  host.stamp(fw.network, 'podsets').forget();
  await host.nftApply(networkRemovalScript(fw));
  const empty: string[] = [];
  for (const [family, name] of SUITE_TABLES)
    if (isEmptyTable(await host.nftList(['list', 'table', family, name]))) empty.push(`${family} ${name}`);
  if (empty.length) await host.nftApply(empty.map((t) => `delete table ${t}\n`).join(''));
}

const POD_SETS_READ = 'read';
const POD_SETS_UNREAD = 'unread';

/** The network's pod-set elements with their attachment keys, read with one `nft` run. */
export async function listAttachments(host: Host, network: string): Promise<Element[]> {
  return parseAttachments(network, await host.nftList(['list', 'table', ...INET_TABLE]));
}

/**
 * CHECK's firewall difference (see firewallDifference), read with one `nft` run; none when the
 * network needs nothing in the inet table.
 */
export async function firewallProblem(
  host: Host,
  fw: FirewallSpec,
  key: string,
  addresses: readonly string[],
): Promise<string | undefined> {
  if (!inetChains(fw).length) return undefined;
  return firewallDifference(fw, key, addresses, await host.nftList(['list', 'table', ...INET_TABLE]));
}

/**
 * Removes one attachment's pod-set elements (DEL). Nothing is looked for while the rules this host
 * last applied for the network read no pod set: the sets were emptied then, and no ADD writes them.
 * Given the addresses the attachment still holds, its elements are removed by address in one `nft`
 * run (each added first, so that removing it cannot fail), without reading the sets; if that fails
 * (the table or a set is gone), or without them, they are found by `key`.
 */
export async function removeEntriesOf(
  host: Host,
  network: string,
  key: string,
  held?: readonly string[],
): Promise<void> {
  if (host.stamp(network, 'podsets').matches(POD_SETS_UNREAD)) return;
  if (held?.length) {
    try {
      return await host.nftApply(elementRemovalScript(network, held));
    } catch (err) {
      if (err instanceof NotInstalledError) return; // no nft: no entry can exist
      // a set or the table is gone (deleted by hand): look by key below
    }
  }
  await removeAttachments(host, network, (k) => k === key);
}

/** Removes the elements of every attachment for which `drop(key)` is true; retried if a concurrent change races us. */
export async function removeAttachments(
  host: Host,
  network: string,
  drop: (key: string | undefined) => boolean,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const doomed = (await listAttachments(host, network)).filter((e) => drop(e.key));
    if (!doomed.length) return 0;
    try {
      await host.nftApply(elementDeletionScript(doomed));
      return doomed.length;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}
