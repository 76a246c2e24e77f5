// The network's shared state as its config and peers file say now: GC's last step, and what the
// agent runs when the peers change (index.ts reconciler).

import type { NetConf } from '../cni/config.js';
import type { Logger } from '../cni/log.js';
import { peerLinkNetwork } from '../plan/attachment.js';
import type { NetworkConfig } from '../plan/config.js';
import { type NetPlugin, routeOwner } from '../plan/contract.js';
import type { LinkSpec } from '../plan/model.js';
import { describePeers, parsePeerSource } from '../plan/peers.js';
import { converge, readAll } from './converge.js';
import { applyNetworkRules } from './firewall.js';
import { deleteLinks } from './links.js';
import { peersFileMissing, readPeerSource } from './peers-file.js';
import { uplinkFor } from './plugin.js';
import { recordConverged } from './scope.js';
import type { Host } from './seam.js';
import { noteUplink } from './uplink.js';

/**
 * The network's shared state as the plan has it: firewall rules rewritten (healing hand edits),
 * routes and entries converged, and recorded as applied (see scope.ts). GC, and the agent when the
 * peers change (reconcile). `podsGone`: the network has no pod left, so links only pods need go.
 */
export async function convergeNetwork<C extends NetworkConfig>(
  host: Host,
  p: NetPlugin<C>,
  conf: NetConf,
  log: Logger,
  podsGone: boolean,
): Promise<void> {
  const cfg = p.load(conf);
  const source = readPeerSource(host, cfg.peers, cfg.peersFile);
  const peers = parsePeerSource(source);
  const att = { network: cfg.network, containerId: '', ifname: '' }; // nobody's: GC plans shared state only
  const uplink = await uplinkFor(host, p, cfg);
  const plan = p.plan({ cfg, peers, att, netns: '', uplink, remote: true, args: {}, ipam: undefined });
  // ADDs in the next 30 s plan on the uplink as GC read it, not on an older note (which would
  // converge the shared state back to it).
  noteUplink(host, { uplink, recalled: false });
  host.sweepStamps(true);
  if (plan.firewall) await applyNetworkRules(host, plan.firewall);
  // Without the peers file the other hosts are unknown: their routes are left as they are.
  if (source.missing) log.warn(peersFileMissing(source));
  const owner = source.missing ? undefined : routeOwner(p, cfg.network);
  // A link only pods need goes with the network's last pod.
  const unused = !podsGone
    ? []
    : plan.shared.filter((o): o is LinkSpec => o.kind === 'link' && !!o.whileUsed);
  await deleteLinks(
    host,
    unused.map((l) => ({ name: l.name })),
  );
  const snap = await readAll(host, plan.shared, owner);
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
  const failed = await converge(host, existing, snap, owner, log);
  if (owner && existing.length === plan.shared.length && !failed.length)
    recordConverged(host, cfg.network, source, [cfg, uplink], owner);
  if (failed.length)
    log.warn(
      `peers not on-link: ${describePeers(peers.filter((x) => failed.some((d) => d.peer === x.name)))}`,
    );
}
