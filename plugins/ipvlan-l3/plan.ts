// ipvlan-l3's desired state: the pod's interface is an ipvlan child of a host NIC (the master) in
// mode l3 or l3s, made for the pod (under a host name, then moved and renamed into its netns). L3
// has no ARP and no gateway: the pod gets a device route per family. Every host routes the others' pod subnets to them (`podCIDR via nodeIP`,
// as bridge-route), and the master delivers packets for this host's pod addresses to their child.
// The host itself cannot reach its pods through the master (the reference's documented limit): the
// shim, an ipvlan child on the host holding the first address of each pod subnet with a route to
// it, lets it, and replies to that address come back to the shim directly.

import { bitsOf, formatIp, ipFamily, maskOf, parseCidr } from '../../lib/base/ip.js';
import { linkAlias, networkTag, podLinkHostName } from '../../lib/plan/attachment.js';
import type { PlanInput } from '../../lib/plan/contract.js';
import { egressFragments, networkFirewall } from '../../lib/plan/firewall.js';
import {
  EMPTY_PLAN,
  type HostObject,
  type LinkSpec,
  type Plan,
  type PodObject,
} from '../../lib/plan/model.js';
import { directPeerRoutes } from '../../lib/plan/peers.js';
import { childMtu } from '../../lib/plan/uplink.js';
import type { IpvlanConfig } from './config.js';

/** Name of the network's host shim (≤ 15 bytes). */
export const shimName = (network: string) => `is${networkTag(network).slice(1, 11)}`;

/** The shim's address in a pod subnet: its first host address (host-local's default gateway). */
export function shimAddress(podCIDR: string): string {
  const c = parseCidr(podCIDR)!;
  return formatIp({ family: c.ip.family, value: (c.ip.value & maskOf(c.ip.family, c.prefix)) + 1n });
}

export function plan({ cfg, att, netns, uplink, ipam, peers, remote }: PlanInput<IpvlanConfig>): Plan {
  const routes = remote ? directPeerRoutes(peers, cfg.podCIDRs) : [];
  const shim = cfg.hostShim && uplink.found ? shimObjects(cfg, uplink.dev) : [];
  const fragments = egressFragments(cfg);
  const fw = fragments.length ? networkFirewall(cfg, peers, fragments) : undefined;
  // GC plans the shared objects only (no attachment).
  if (!att.ifname) return { ...EMPTY_PLAN, shared: [...shim, ...routes], firewall: fw };
  const mtu = childMtu(cfg, uplink);
  const child: LinkSpec = {
    kind: 'link',
    name: att.ifname,
    type: 'ipvlan',
    parent: uplink.dev,
    netns,
    hostName: podLinkHostName(att),
    // DEL deletes CNI_IFNAME in the pod only when it carries this (the pod may hold another's).
    alias: linkAlias(att),
    mtu,
    attrs: ['mode', cfg.mode],
  };
  // No gateway in L3: the addresses alone, and device routes.
  const ips = (ipam?.ips ?? []).map((ip) => ({ address: ip.address, interface: 0 }));
  const defaults = [...new Set(ips.map((ip) => (ipFamily(ip.address) === 4 ? '0.0.0.0/0' : '::/0')))];
  const podRoutes = [
    ...(ipam?.routes ?? []).map((r) => ({ dst: r.dst })),
    ...defaults.filter((d) => !ipam?.routes.some((r) => r.dst === d)).map((dst) => ({ dst })),
  ];
  const pod: PodObject[] = [
    ...ips.map((ip) => ({ kind: 'addr' as const, dev: att.ifname, cidr: ip.address })),
    { kind: 'link', name: att.ifname, type: 'ipvlan', data: { mode: cfg.mode } },
    ...podRoutes.map((r) => ({ kind: 'route' as const, dst: r.dst, dev: att.ifname })),
  ];
  return {
    shared: [...shim, ...routes],
    hostLinks: [child],
    pod,
    firewall: fw,
    interfaces: [{ name: att.ifname, mac: uplink.mac || undefined, sandbox: netns }],
    ips,
    routes: podRoutes,
    dns: ipam?.dns ?? {},
  };
}

/** The host's way to its pods: an ipvlan sibling of theirs with the first address of each pod
 *  subnet, and a route to the subnet through it. */
function shimObjects(cfg: IpvlanConfig, master: string): HostObject[] {
  const name = shimName(cfg.network);
  return [
    { kind: 'link', name, type: 'ipvlan', parent: master, attrs: ['mode', cfg.mode], whileUsed: true },
    ...cfg.podCIDRs.flatMap((dst): HostObject[] => [
      { kind: 'addr', dev: name, cidr: `${shimAddress(dst)}/${bitsOf(ipFamily(dst))}` },
      { kind: 'route', dst, dev: name },
    ]),
  ];
}
