// ADD: (allocateAddresses ∥ ensureBridge → createVeth) → (configureContainer ∥ ensureAttachmentFirewall ∥
// ensureHostRoutes) → result. Each step that creates something pushes its undo;
// independent steps run side by side because each costs a process start.
import { CniError, ErrorCode } from '../../lib/cni/errors.js';
import type { Request } from '../../lib/cni/plugin.js';
import { type IpConfig, ipFamily, type Result, type Route } from '../../lib/cni/result.js';
import {
  type AttachmentId,
  attachmentKey,
  hostLinkName,
  linkAlias,
  networkGroup,
  randomMac,
} from '../../lib/net/attachment.js';
import { ensureBridge } from '../../lib/net/bridge.js';
import { ensureFirewall, removeAttachments } from '../../lib/net/firewall.js';
import { containerCommands, deleteLink, vethCommands } from '../../lib/net/links.js';
import { uplinkMtu } from '../../lib/net/mtu.js';
import {
  applyPeerRoutes,
  describePeers,
  loadPeers,
  type Peer,
  peerRouteReads,
  planPeerRoutes,
} from '../../lib/net/peers.js';
import { settleAll, type UndoStack, withUndo } from '../../lib/net/undo.js';
import { type IpAddrInfo, type IpRoute, ipBatch, ipJsonBatch } from '../../lib/sys/ip.js';
import { ensureSysctl } from '../../lib/sys/sysctl.js';
import {
  type BridgeRouteConfig,
  HOST_VETH_PREFIX,
  loadConfig,
  networkFirewall,
  PEER_ROUTE_PROTO,
} from './config.js';

export async function add(req: Request): Promise<Result> {
  const cfg = loadConfig(req.conf);
  const id: AttachmentId = { network: cfg.network, containerId: req.containerId, ifname: req.ifname };
  const peers = loadPeers(cfg.peers, cfg.peersFile);
  const mtu = cfg.mtu ?? uplinkMtu();
  return withUndo(req.log, async (undo) => {
    const ipam = allocateAddresses(req, undo);
    // A missing bridge is created only once IPAM has accepted its config: bad input changes nothing.
    const wired = ensureBridge(cfg.bridge, mtu, ipam).then(
      async (b) => [b, await createVeth(req, cfg, id, mtu, undo)] as const,
    );
    const [leased, [bridge, host]] = await settleAll([ipam, wired]);
    const ips = leased.ips.map((ip) => ({
      ...ip,
      interface: 2,
      gateway: cfg.isGateway ? ip.gateway : undefined,
    }));
    const routes = containerRoutes(cfg, leased);
    await settleAll([
      ipBatch(containerCommands(req.ifname, ips, routes), { netns: req.netns }),
      ensureAttachmentFirewall(cfg, id, ips, peers, undo),
      ensureHostRoutes(req, cfg, ips, peers, host),
    ]);
    return {
      interfaces: [
        { name: cfg.bridge, mac: bridge.mac },
        { name: host.veth.hostName, mac: host.veth.hostMac },
        { name: req.ifname, mac: host.veth.peerMac, sandbox: req.netns },
      ],
      ips,
      routes,
      dns: leased.dns,
    };
  });
}

async function allocateAddresses(req: Request, undo: UndoStack): Promise<Result> {
  if (!req.ipam)
    throw new CniError(
      ErrorCode.InvalidConfig,
      'ipam is required, e.g. {"type": "host-local", "ranges": [[{"subnet": "10.244.1.0/24"}]]}',
    );
  const ipam = req.ipam;
  const result = await ipam.add();
  undo.push('release IPAM lease', () => ipam.del());
  if (!result.ips.length)
    throw new CniError(ErrorCode.InvalidConfig, `ipam "${ipam.type}" returned no IP address`);
  return result;
}

/** Routes inside the pod: IPAM's, plus a default route via the bridge per family when asked. */
function containerRoutes(cfg: BridgeRouteConfig, ipam: Result): Route[] {
  const routes = [...ipam.routes];
  if (!cfg.isDefaultGateway) return routes;
  for (const ip of ipam.ips) {
    const dst = ipFamily(ip.address) === 4 ? '0.0.0.0/0' : '::/0';
    if (ip.gateway && !routes.some((r) => r.dst === dst)) routes.push({ dst, gw: ip.gateway });
  }
  return routes;
}

/** What createVeth read of the host in the same `ip` run: our peer routes and the bridge's addresses. */
interface HostState {
  veth: { hostName: string; hostMac: string; peerName: string; peerMac: string };
  peerRoutes: IpRoute[];
  bridgeAddrs: string[];
}

/** The veth pair with the pod end inside the pod, the host end up on the bridge: one `ip` run. */
async function createVeth(
  req: Request,
  cfg: BridgeRouteConfig,
  id: AttachmentId,
  mtu: number,
  undo: UndoStack,
): Promise<HostState> {
  const veth = {
    hostName: hostLinkName(id, HOST_VETH_PREFIX),
    hostMac: randomMac(),
    peerName: req.ifname,
    peerMac: randomMac(),
  };
  const cmds = vethCommands({
    ...veth,
    netns: req.netns,
    mtu,
    alias: linkAlias(id),
    group: networkGroup(cfg.network),
  });
  cmds.push(['link', 'set', 'dev', veth.hostName, 'master', cfg.bridge, 'up']);
  if (cfg.hairpinMode)
    cmds.push(['link', 'set', 'dev', veth.hostName, 'type', 'bridge_slave', 'hairpin', 'on']);
  if (cfg.promiscMode) cmds.push(['link', 'set', 'dev', cfg.bridge, 'promisc', 'on']);
  cmds.push(['link', 'set', 'dev', cfg.bridge, 'up']);
  try {
    // The reads ride along, so the next step knows what to change without another process.
    const [v4 = [], v6 = [], addrs = []] = await ipJsonBatch<unknown>([
      ...cmds,
      ...peerRouteReads(PEER_ROUTE_PROTO),
      ['addr', 'show', 'dev', cfg.bridge],
    ]);
    const bridgeAddrs = (addrs as IpAddrInfo[]).flatMap((l) =>
      l.addr_info.map((a) => `${a.local}/${a.prefixlen}`),
    );
    return { veth, peerRoutes: [...(v4 as IpRoute[]), ...(v6 as IpRoute[])], bridgeAddrs };
  } finally {
    // Even a half-done batch may have created the pair; deleting a missing link is a no-op.
    undo.push(`delete ${veth.hostName}`, () => deleteLink(veth.hostName));
  }
}

/**
 * Host routing: the gateway addresses on the bridge (with isGateway; forwarding on) and the peer
 * routes, in one `ip` run, and none when all is in place. Shared state: no undo. An unreachable peer
 * must not fail this pod's ADD, so it is logged.
 */
async function ensureHostRoutes(
  req: Request,
  cfg: BridgeRouteConfig,
  ips: IpConfig[],
  peers: Peer[],
  host: HostState,
) {
  const gateway: string[][] = [];
  for (const ip of cfg.isGateway ? ips : []) {
    if (!ip.gateway) continue;
    const v6 = ipFamily(ip.address) === 6;
    ensureSysctl(v6 ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward', '1');
    const cidr = `${ip.gateway}/${ip.address.split('/')[1]}`;
    if (!host.bridgeAddrs.includes(cidr))
      gateway.push(['addr', 'replace', cidr, 'dev', cfg.bridge, ...(v6 ? ['nodad'] : [])]);
  }
  const plan = planPeerRoutes(peers, host.peerRoutes, {
    proto: PEER_ROUTE_PROTO,
    localSubnets: cfg.localSubnets,
  });
  if (!gateway.length && !plan.stale.length && !plan.missing.length) return;
  const notOnLink = await applyPeerRoutes(plan, PEER_ROUTE_PROTO, gateway);
  if (notOnLink.length) req.log.warn(`peers not on-link, no route installed: ${describePeers(notOnLink)}`);
}

/** The network's NAT/filter rules and this attachment's addresses. */
async function ensureAttachmentFirewall(
  cfg: BridgeRouteConfig,
  id: AttachmentId,
  ips: IpConfig[],
  peers: Peer[],
  undo: UndoStack,
) {
  const key = attachmentKey(id);
  await ensureFirewall(
    networkFirewall(cfg, peers),
    key,
    ips.map((ip) => ip.address),
  );
  undo.push('remove firewall entries', () => removeAttachments(cfg.network, (k) => k === key));
}
