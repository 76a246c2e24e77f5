// GC: host veths and firewall entries of this network whose attachment is not in the valid list
// are removed; peer routes are reconciled; IPAM GC releases its stale leases.
import type { Request } from '../../lib/cni/plugin.js';
import { attachmentKey, parseLinkAlias } from '../../lib/net/attachment.js';
import { applyNetworkRules, removeAttachments } from '../../lib/net/firewall.js';
import { deleteLink } from '../../lib/net/links.js';
import { describePeers, loadPeers, reconcilePeerRoutes } from '../../lib/net/peers.js';
import { type IpLink, ipJson } from '../../lib/sys/ip.js';
import { loadConfig, networkFirewall, PEER_ROUTE_PROTO } from './config.js';

export async function gc(req: Request): Promise<void> {
  const cfg = loadConfig(req.conf);
  const valid = new Set(
    req.attachments.map((a) => attachmentKey({ containerId: a.containerID, ifname: a.ifname })),
  );
  const veths = await ipJson<IpLink[]>(['link', 'show', 'type', 'veth']);
  for (const link of veths) {
    const owner = parseLinkAlias(link.ifalias);
    if (owner?.network === cfg.network && !valid.has(attachmentKey(owner))) {
      req.log.info(`GC: deleting ${link.ifname} of ${attachmentKey(owner)}`);
      await deleteLink(link.ifname);
    }
  }
  const removed = await removeAttachments(cfg.network, (k) => k !== undefined && !valid.has(k));
  if (removed) req.log.info(`GC: removed ${removed} firewall entries`);
  const peers = loadPeers(cfg.peers, cfg.peersFile);
  // ADD skips rules it believes current; GC rewrites them, healing changes made by hand.
  await applyNetworkRules(networkFirewall(cfg, peers));
  const notOnLink = await reconcilePeerRoutes(peers, {
    proto: PEER_ROUTE_PROTO,
    localSubnets: cfg.localSubnets,
  });
  if (notOnLink.length) req.log.warn(`peers not on-link: ${describePeers(notOnLink)}`);
  await req.ipam?.gc();
}
