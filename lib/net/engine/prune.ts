// DEL and GC prune by key: the attachment's host links by their derived names (DEL) or their alias
// (GC), its firewall entries by their comment. Neither needs the pod's netns or the plugin's config
// (GC loads it only at the end, to converge the shared state), so no ADD-time rule can fail them.
import type { NetConf } from '../../cni/config.js';
import type { Logger } from '../../cni/log.js';
import type { Request } from '../../cni/plugin.js';
import type { IpLink } from '../../sys/ip.js';
import { ipJson, ipJsonIfExists, ipLinkDelete } from '../../sys/ip.js';
import { holdLock, tryLock } from '../../sys/lock.js';
import { hasOwnLink } from '../../sys/netns.js';
import { NotInstalledError } from '../../sys/run.js';
import { attachmentKey, attachmentLock, parseLinkAlias, peerLinkNetwork } from '../attachment.js';
import type { NetworkConfig } from '../config.js';
import { applyNetworkRules, removeAttachments, removeEntriesOf } from '../firewall.js';
import type { LinkSpec, OwnedLink } from '../model.js';
import { describePeers, parsePeerSource, readPeerSource } from '../peers.js';
import { sweepStamps } from '../stamp.js';
import { noteUplink } from '../uplink.js';
import { converge, readAll } from './host.js';
import { attachmentOf, type NetPlugin, routeOwner, uplinkFor } from './plugin.js';
import { recordConverged } from './scope.js';

/**
 * Deletes links by name where they are ours (see OwnedLink); one already gone, or in a netns already
 * gone, is success. True if any of them was there. A link with nothing to prove is deleted by name
 * (one `ip` run, none when /proc shows it absent); the others of a netns are read first, in one run.
 */
export async function deleteLinks(links: readonly OwnedLink[]): Promise<boolean> {
  let found = false;
  for (const l of links.filter((l) => !l.type && !l.alias))
    if (await ipLinkDelete(l.name, { netns: l.netns })) found = true;
  const proven = links.filter((l) => l.type || l.alias);
  for (const netns of new Set(proven.map((l) => l.netns))) {
    const wanted = proven.filter((l) => l.netns === netns && (netns || hasOwnLink(l.name) !== false));
    if (!wanted.length) continue;
    const there = await ipJsonIfExists<IpLink>(['-d', 'link', 'show'], { netns });
    const ours = wanted.filter((l) => there.some((have) => isOwned(l, have)));
    for (const l of ours) if (await ipLinkDelete(l.name, { netns })) found = true;
  }
  return found;
}

const isOwned = (l: OwnedLink, have: IpLink) =>
  have.ifname === l.name &&
  (!l.type || have.linkinfo?.info_kind === l.type) &&
  (!l.alias || have.ifalias === l.alias);

/**
 * Waits for the attachment's lock (a killed ADD's children may still run), then removes it all, in
 * this order: its links; its firewall entries; its addresses (IPAM). Each step runs whatever the
 * one before did. Links still there mean the attachment was live until now, so the addresses in
 * prevResult are still its own (nobody else can hold them before the release, which comes last):
 * their entries are removed by address, in one `nft` run. Otherwise (a second DEL, an ADD that
 * never finished, no prevResult) they are found by the attachment's key.
 */
export async function del<C extends NetworkConfig>(p: NetPlugin<C>, req: Request): Promise<void> {
  const att = attachmentOf(req);
  const key = attachmentKey(att);
  const release = await holdLock(attachmentLock(att));
  let done = false;
  try {
    const links = await settle(deleteLinks(p.attachmentLinks(att, req.netns)));
    const live = links.status === 'fulfilled' && links.value;
    const addresses = live ? req.conf.prevResult?.ips.map((ip) => ip.address) : undefined;
    const results = [
      links,
      await settle(p.firewall === false ? undefined : removeEntriesOf(att.network, key, addresses)),
      await settle(req.ipam?.del()),
    ];
    // Without `ip` links that are there cannot be deleted (nor looked for in the pod): DEL releases
    // what it can, says so, and succeeds (a runtime could do nothing better with an error).
    for (const r of results)
      if (r.status === 'rejected' && r.reason instanceof NotInstalledError)
        req.log.warn(`DEL: ${r.reason.message}; the attachment's links were left as they are`);
    throwFirst(results.filter((r) => !(r.status === 'rejected' && r.reason instanceof NotInstalledError)));
    done = true;
  } finally {
    // The attachment is gone: so goes its lock's file (a DEL for it later makes a new one).
    release({ remove: done });
  }
}

/**
 * Removes the host links and firewall entries of attachments not in the valid list (skipping any
 * whose ADD is still running), runs IPAM GC, then converges the network's shared state. Each step
 * runs even if an earlier one failed; the first failure is reported at the end. A step whose tool
 * (`ip`, `nft`) is missing is skipped with a warning, as in DEL: nothing it would touch can exist.
 */
export async function gc<C extends NetworkConfig>(p: NetPlugin<C>, req: Request): Promise<void> {
  const network = req.conf.name;
  const valid = new Set(
    req.attachments.map((a) => attachmentKey({ containerId: a.containerID, ifname: a.ifname })),
  );
  const stale = (key: string | undefined) => key !== undefined && !valid.has(key);
  const pruned = await Promise.allSettled([
    pruneLinks(network, stale, req),
    p.firewall === false
      ? undefined
      : removeAttachments(network, stale).then((n) => n && req.log.info(`GC: removed ${n} firewall entries`)),
    req.ipam?.gc(),
  ]);
  const podsGone = req.attachments.length === 0;
  const results = [
    ...pruned,
    ...(await Promise.allSettled([convergeNetwork(p, req.conf, req.log, podsGone)])),
  ];
  for (const r of results)
    if (r.status === 'rejected' && r.reason instanceof NotInstalledError)
      req.log.warn(`GC: ${r.reason.message}; what needs it was skipped`);
  throwFirst(results.filter((r) => !(r.status === 'rejected' && r.reason instanceof NotInstalledError)));
}

/** Every host link of the network, whatever its kind, found by its alias. */
async function pruneLinks(network: string, stale: (key: string) => boolean, req: Request): Promise<void> {
  for (const link of await ipJson<IpLink[]>(['link', 'show'])) {
    const owner = parseLinkAlias(link.ifalias);
    if (owner?.network !== network || !stale(attachmentKey(owner))) continue;
    const release = await tryLock(attachmentLock(owner));
    if (!release) continue; // its ADD is running: not stale yet
    let deleted = false;
    try {
      req.log.info(`GC: deleting ${link.ifname} of ${attachmentKey(owner)}`);
      deleted = await ipLinkDelete(link.ifname);
    } finally {
      release({ remove: deleted });
    }
  }
}

/**
 * The network's shared state as the plan has it: firewall rules rewritten (healing hand edits),
 * routes and entries converged, and recorded as applied (see scope.ts). GC, and the agent when the
 * peers change (reconcile). `podsGone`: the network has no pod left, so links only pods need go.
 */
export async function convergeNetwork<C extends NetworkConfig>(
  p: NetPlugin<C>,
  conf: NetConf,
  log: Logger,
  podsGone: boolean,
): Promise<void> {
  const cfg = p.load(conf);
  const source = readPeerSource(cfg.peers, cfg.peersFile);
  const peers = parsePeerSource(source);
  const att = { network: cfg.network, containerId: '', ifname: '' }; // nobody's: GC plans shared state only
  const uplink = await uplinkFor(p, cfg);
  const plan = p.plan({ cfg, peers, att, netns: '', uplink, remote: true, args: {}, ipam: undefined });
  // ADDs in the next 30 s plan on the uplink as GC read it, not on an older note (which would
  // converge the shared state back to it).
  noteUplink({ uplink, recalled: false });
  sweepStamps(true);
  if (plan.firewall) await applyNetworkRules(plan.firewall);
  const owner = routeOwner(p, cfg.network);
  // A link only pods need goes with the network's last pod.
  const unused = !podsGone
    ? []
    : plan.shared.filter((o): o is LinkSpec => o.kind === 'link' && !!o.whileUsed);
  await deleteLinks(unused.map((l) => ({ name: l.name })));
  const snap = await readAll(plan.shared, owner);
  // Links are ADD's to create, except a tunnel to a peer (whose master, if any, exists): no pod
  // needs to be there for it, so GC brings a deleted one back. GC converges those links, the ones
  // that exist, and what lives on either.
  const made = new Set(
    plan.shared.flatMap((o) =>
      o.kind === 'link' &&
      (snap.links.has(o.name) ||
        (peerLinkNetwork(o.alias) === cfg.network && (!o.master || snap.links.has(o.master))))
        ? [o.name]
        : [],
    ),
  );
  const onHost = (dev: string | undefined) => dev === undefined || made.has(dev);
  const existing = plan.shared.filter((o) =>
    o.kind === 'link' ? onHost(o.name) : o.kind === 'sysctl' ? true : onHost(o.dev),
  );
  const failed = await converge(existing, snap, owner, log);
  if (existing.length === plan.shared.length && !failed.length)
    recordConverged(cfg.network, source, [cfg, uplink], owner);
  if (failed.length)
    log.warn(
      `peers not on-link: ${describePeers(peers.filter((x) => failed.some((d) => d.peer === x.name)))}`,
    );
}

const settle = async <T>(step: Promise<T> | undefined): Promise<PromiseSettledResult<T | undefined>> =>
  (await Promise.allSettled([step]))[0]!;

function throwFirst(results: PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
