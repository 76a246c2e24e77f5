// bridge-route's desired state. Shared: the bridge, its gateway addresses, forwarding, and a direct
// route to every other host's pods. The attachment's: a veth pair (host end a port of the bridge,
// pod end created directly in the pod), the pod's addresses and routes, its firewall entries.
import type { Result, Route } from '../../lib/cni/result.js';
import { attachmentMac, hostLinkName, linkAlias, networkGroup } from '../../lib/net/attachment.js';
import type { PlanInput } from '../../lib/net/engine/index.js';
import type { Fragment } from '../../lib/net/firewall.js';
import { ipFamily } from '../../lib/net/ip.js';
import type { HostObject, LinkSpec, NetObject, Plan } from '../../lib/net/model.js';
import { directPeerRoutes } from '../../lib/net/peers.js';
import type { BridgeRouteConfig } from './config.js';

/** Prefix of host-side veth names: vb + 13 hex digits of the attachment's hash. */
export const HOST_VETH_PREFIX = 'vb';

export function plan({ cfg, peers, att, netns, mtu, ipam }: PlanInput<BridgeRouteConfig>): Plan {
  const bridge: LinkSpec = { kind: 'link', name: cfg.bridge, type: 'bridge', mtu, promisc: cfg.promiscMode };
  const podMac = attachmentMac(att, 'pod');
  const veth: LinkSpec = {
    kind: 'link',
    name: hostLinkName(att, HOST_VETH_PREFIX),
    type: 'veth',
    mac: attachmentMac(att, 'host'),
    mtu,
    peer: { name: att.ifname, mac: podMac, mtu, netns },
    master: cfg.bridge,
    hairpin: cfg.hairpinMode,
    alias: linkAlias(att),
    group: networkGroup(cfg.network),
  };
  const ips = (ipam?.ips ?? []).map((ip) => ({
    address: ip.address,
    gateway: cfg.isGateway ? ip.gateway : undefined,
    interface: 2,
  }));
  const routes = ipam ? podRoutes(cfg, ipam) : [];
  const pod: NetObject[] = [
    ...ips.map((ip) => ({ kind: 'addr' as const, dev: att.ifname, cidr: ip.address })),
    { kind: 'link', name: att.ifname, type: 'veth' },
    ...routes.map((r) => ({ kind: 'route' as const, dst: r.dst, via: r.gw, dev: att.ifname })),
  ];
  return {
    shared: [bridge, ...gateway(cfg, ips), ...directPeerRoutes(peers, cfg.podCIDRs)],
    hostLinks: [veth],
    pod,
    firewall: {
      network: cfg.network,
      cluster: [...cfg.clusterCIDR, ...cfg.podCIDRs, ...peers.map((p) => p.podCIDR)],
      fragments: fragments(cfg),
    },
    interfaces: [
      { name: cfg.bridge },
      { name: veth.name, mac: veth.mac },
      { name: att.ifname, mac: podMac, sandbox: netns },
    ],
    ips,
    routes,
    dns: ipam?.dns ?? {},
  };
}

/** With isGateway: the gateway addresses on the bridge, and forwarding on for their families. */
function gateway(
  cfg: BridgeRouteConfig,
  ips: { address: string; gateway?: string | undefined }[],
): HostObject[] {
  return ips.flatMap((ip): HostObject[] => {
    if (!cfg.isGateway || !ip.gateway) return [];
    const v6 = ipFamily(ip.address) === 6;
    return [
      { kind: 'sysctl', key: v6 ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward', value: '1' },
      { kind: 'addr', dev: cfg.bridge, cidr: `${ip.gateway}/${ip.address.split('/')[1]}` },
    ];
  });
}

/** Routes inside the pod: IPAM's, plus a default route via the bridge per family when asked. */
function podRoutes(cfg: BridgeRouteConfig, ipam: Result): Route[] {
  const routes = [...ipam.routes];
  if (!cfg.isDefaultGateway) return routes;
  for (const ip of ipam.ips) {
    const dst = ipFamily(ip.address) === 4 ? '0.0.0.0/0' : '::/0';
    if (ip.gateway && !routes.some((r) => r.dst === dst)) routes.push({ dst, gw: ip.gateway });
  }
  return routes;
}

function fragments(cfg: BridgeRouteConfig): Fragment[] {
  const out: Fragment[] = [];
  if (cfg.internal) out.push({ kind: 'internal' });
  else if (cfg.ipMasq) out.push({ kind: 'masquerade' });
  if (cfg.isolation === 'bridge') out.push({ kind: 'isolation', allow: cfg.isolationAllow });
  return out;
}
