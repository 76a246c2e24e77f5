// CHECK: the pod's interface, addresses and routes; the host veth on the bridge; the firewall
// entries; the peer routes (reconciled, and an unreachable peer is an error); then IPAM CHECK.
import { CniError, ErrorCode, PluginCode } from '../../lib/cni/errors.js';
import type { Request } from '../../lib/cni/plugin.js';
import type { Result } from '../../lib/cni/result.js';
import { type AttachmentId, attachmentKey, hostLinkName } from '../../lib/net/attachment.js';
import { firewallKeys } from '../../lib/net/firewall.js';
import { describePeers, loadPeers, reconcilePeerRoutes } from '../../lib/net/peers.js';
import { type IpAddrInfo, type IpLink, type IpRoute, ipJsonBatch, ipJsonIfExists } from '../../lib/sys/ip.js';
import { HOST_VETH_PREFIX, loadConfig, PEER_ROUTE_PROTO } from './config.js';

const failed = (msg: string) => new CniError(PluginCode.CheckFailed, msg);

export async function check(req: Request): Promise<void> {
  const cfg = loadConfig(req.conf);
  const prev = req.conf.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidConfig, 'CHECK needs prevResult (the result of ADD)');
  const id: AttachmentId = { network: cfg.network, containerId: req.containerId, ifname: req.ifname };
  await checkContainer(req, prev);
  await checkHostVeth(hostLinkName(id, HOST_VETH_PREFIX), cfg.bridge);
  await checkFirewall(cfg.network, attachmentKey(id), prev);
  const notOnLink = await reconcilePeerRoutes(loadPeers(cfg.peers, cfg.peersFile), {
    proto: PEER_ROUTE_PROTO,
    localSubnets: cfg.localSubnets,
  });
  if (notOnLink.length)
    throw new CniError(
      PluginCode.PeerNotOnLink,
      `peers not on-link (no route to their pods): ${describePeers(notOnLink)}`,
    );
  await req.ipam?.check();
}

async function checkContainer(req: Request, prev: Result): Promise<void> {
  const index = prev.interfaces.findIndex((i) => i.name === req.ifname && i.sandbox === req.netns);
  if (index < 0) throw failed(`prevResult has no interface "${req.ifname}" in sandbox ${req.netns}`);
  // Everything the pod's side needs, read in one `ip` run.
  const [links = [], v4 = [], v6 = []] = await ipJsonBatch<unknown>([['addr', 'show'], ...routeReads], {
    netns: req.netns,
  });
  const link = (links as (IpAddrInfo & { address?: string })[]).find((l) => l.ifname === req.ifname);
  if (!link) throw failed(`interface "${req.ifname}" is missing in ${req.netns}`);
  const want = prev.interfaces[index]!.mac;
  if (want && link.address !== want)
    throw failed(`interface "${req.ifname}" has MAC ${link.address}, prevResult says ${want}`);
  const have = new Set(link.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
  for (const ip of prev.ips.filter((i) => i.interface === index)) {
    if (!have.has(ip.address)) throw failed(`address ${ip.address} is missing on "${req.ifname}"`);
  }
  const routes = [...(v4 as IpRoute[]), ...(v6 as IpRoute[])];
  for (const r of prev.routes) {
    const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst;
    if (!routes.some((x) => x.dst === dst && (!r.gw || x.gateway === r.gw))) {
      throw failed(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing in ${req.netns}`);
    }
  }
}

/** All main-table routes of each family ("root" with the family's default prefix picks it). */
const routeReads = [
  ['route', 'show', 'root', '0.0.0.0/0'],
  ['route', 'show', 'root', '::/0'],
];

async function checkHostVeth(name: string, bridge: string): Promise<void> {
  const [link] = await ipJsonIfExists<IpLink>(['link', 'show', 'dev', name]);
  if (!link) throw failed(`host veth "${name}" is missing`);
  if (link.master !== bridge) throw failed(`host veth "${name}" is not on bridge "${bridge}"`);
}

async function checkFirewall(network: string, key: string, prev: Result): Promise<void> {
  const have = (await firewallKeys(network)).get(key) ?? [];
  for (const ip of prev.ips) {
    const addr = ip.address.split('/')[0]!;
    if (!have.includes(addr)) throw failed(`firewall entry for ${addr} (${key}) is missing`);
  }
}
