// macvlan's desired state: the pod's interface is a macvlan child of a host NIC (the master), made
// for the pod (under a host name, then moved and renamed into its netns: CNI_IFNAME may be taken in
// the host), with its own MAC on the LAN; no bridge, no NAT. arp_notify/ndisc_notify announce the MAC at once. With hostShim, a shared macvlan
// child on the host (bridge mode) with the shim address and a route to this host's pods lets the
// host reach them, which a macvlan master itself cannot.

import { ipFamily } from '../../lib/base/ip.js';
import { attachmentMac, linkAlias, networkTag, podLinkHostName } from '../../lib/plan/attachment.js';
import type { PlanInput } from '../../lib/plan/contract.js';
import {
  EMPTY_PLAN,
  type HostObject,
  type LinkSpec,
  type Plan,
  type PodObject,
} from '../../lib/plan/model.js';
import { childMtu } from '../../lib/plan/uplink.js';
import type { MacvlanConfig } from './config.js';

/** Name of the network's host shim (≤ 15 bytes). */
export const shimName = (network: string) => `ms${networkTag(network).slice(1, 11)}`;

export function plan({ cfg, att, netns, uplink, ipam, args }: PlanInput<MacvlanConfig>): Plan {
  // GC plans the shared objects only (no attachment): without a master there is no shim to keep.
  if (!att.ifname)
    return { ...EMPTY_PLAN, shared: cfg.hostShim && uplink.found ? shim(cfg, uplink.dev, cfg.hostShim) : [] };
  const mtu = childMtu(cfg, uplink);
  // passthru: the child takes the master's MAC unless one is asked for.
  const mac = args.mac ?? (cfg.mode === 'passthru' ? undefined : attachmentMac(att, 'pod'));
  const child: LinkSpec = {
    kind: 'link',
    name: att.ifname,
    type: 'macvlan',
    parent: uplink.dev,
    netns,
    hostName: podLinkHostName(att),
    // DEL deletes CNI_IFNAME in the pod only when it carries this (the pod may hold another's).
    alias: linkAlias(att),
    ...(mac ? { mac } : {}),
    mtu,
    attrs: ['mode', cfg.mode],
  };
  const ips = (ipam?.ips ?? []).map((ip) => ({ address: ip.address, gateway: ip.gateway, interface: 0 }));
  const routes = ipam?.routes ?? [];
  const notify = (fam: string, key: string): PodObject => ({
    kind: 'sysctl',
    key: `net/${fam}/conf/${att.ifname}/${key}`,
    value: '1',
  });
  const pod: PodObject[] = [
    notify('ipv4', 'arp_notify'),
    notify('ipv6', 'ndisc_notify'),
    ...ips.map((ip) => ({ kind: 'addr' as const, dev: att.ifname, cidr: ip.address })),
    { kind: 'link', name: att.ifname, type: 'macvlan', data: { mode: cfg.mode } },
    // A route without gw goes via the gateway of its family, as the reference does.
    ...routes.map((r) => ({
      kind: 'route' as const,
      dst: r.dst,
      via: r.gw ?? ips.find((ip) => ipFamily(ip.address) === ipFamily(r.dst))?.gateway,
      dev: att.ifname,
    })),
  ];
  return {
    shared: cfg.hostShim ? shim(cfg, uplink.dev, cfg.hostShim) : [],
    hostLinks: [child],
    pod,
    firewall: undefined,
    interfaces: [{ name: att.ifname, mac, sandbox: netns }],
    ips,
    routes,
    dns: ipam?.dns ?? {},
  };
}

/** The host's way to its pods: a bridge-mode sibling of theirs with the shim address, and routes. */
function shim(cfg: MacvlanConfig, master: string, address: string): HostObject[] {
  const name = shimName(cfg.network);
  const bits = ipFamily(address) === 4 ? 32 : 128;
  return [
    { kind: 'link', name, type: 'macvlan', parent: master, attrs: ['mode', 'bridge'], whileUsed: true },
    { kind: 'addr', dev: name, cidr: `${address}/${bits}` },
    ...cfg.podCIDRs.map((dst): HostObject => ({ kind: 'route', dst, dev: name })),
  ];
}
