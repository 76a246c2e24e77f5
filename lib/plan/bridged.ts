// The local wiring the bridge plugins share (bridge-route, vxlan, gre): a bridge per network whose
// address is the pods' gateway, a veth per pod (host end a port of the bridge, pod end created in
// the pod), NAT or isolation in the firewall. A plugin adds its transport to other hosts.
import validate from '../../gen/bridged.validate.js';
import { ipFamily, isCidr } from '../base/ip.js';
import type { NetConf } from '../cni/config.js';
import { configError } from '../cni/errors.js';
import type { Result, Route } from '../cni/result.js';
import { checkSchema } from '../cni/validate.js';
import { attachmentMac, hostLinkName, linkAlias, networkGroup } from './attachment.js';
import { loadNetworkConfig, type NetworkConfig } from './config.js';
import type { PlanInput } from './contract.js';
import { egressFragments, type Fragment, networkFirewall } from './firewall.js';
import type { AttachmentId, HostObject, LinkSpec, Plan, PodObject } from './model.js';

export interface BridgedConfig extends NetworkConfig {
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  hairpinMode: boolean;
  promiscMode: boolean;
  isolation: 'none' | 'bridge';
  /** With isolation "bridge": CIDR pairs whose pods may still talk, both ways. */
  isolationAllow: { from: string; to: string }[];
}

/** The shared network keys plus the local wiring's, with defaults; pure. */
export function loadBridgedConfig(conf: NetConf): BridgedConfig {
  const raw = conf.raw;
  const shared = loadNetworkConfig(conf);
  checkSchema(validate, raw);
  const isDefaultGateway = (raw.isDefaultGateway as boolean | undefined) ?? true;
  return {
    ...shared,
    bridge: (raw.bridge as string | undefined) ?? 'cni0',
    // A default route through the bridge needs the gateway address on it.
    isGateway: isDefaultGateway || ((raw.isGateway as boolean | undefined) ?? true),
    isDefaultGateway,
    hairpinMode: (raw.hairpinMode as boolean | undefined) ?? false,
    promiscMode: (raw.promiscMode as boolean | undefined) ?? false,
    isolation: (raw.isolation as 'none' | 'bridge' | undefined) ?? 'none',
    isolationAllow: allowPairs(raw.isolationAllow as { from: string; to: string }[] | undefined),
  };
}

/** isolationAllow entries: two CIDRs of one family each. */
function allowPairs(list: { from: string; to: string }[] | undefined): { from: string; to: string }[] {
  return (list ?? []).map(({ from, to }, i) => {
    for (const [k, v] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (!isCidr(v))
        throw configError(`isolationAllow[${i}].${k} "${v}" is not a CIDR, e.g. "10.244.1.2/32"`);
    }
    if (ipFamily(from) !== ipFamily(to))
      throw configError(`isolationAllow[${i}]: from and to must be of one family`);
    return { from, to };
  });
}

/** The attachment's link DEL deletes: the host end of its veth. */
export const bridgedLinks = (hostLinkPrefix: string) => (att: AttachmentId) => [
  { name: hostLinkName(att, hostLinkPrefix) },
];

/**
 * The local wiring's plan: shared, the bridge, and with IPAM's answer its gateway addresses and
 * forwarding; the attachment's veth (host end `<prefix><hash>`), the pod's addresses and routes.
 * `mtu` is the pods' (the transport decides it); `ports` are more links on the bridge.
 */
export function bridgedPlan(
  { cfg, peers, att, netns, ipam }: PlanInput<BridgedConfig>,
  opts: { hostLinkPrefix: string; mtu: number },
): Plan {
  const { mtu } = opts;
  const bridge: LinkSpec = { kind: 'link', name: cfg.bridge, type: 'bridge', mtu, promisc: cfg.promiscMode };
  const podMac = attachmentMac(att, 'pod');
  const veth: LinkSpec = {
    kind: 'link',
    name: hostLinkName(att, opts.hostLinkPrefix),
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
  const pod: PodObject[] = [
    ...ips.map((ip) => ({ kind: 'addr' as const, dev: att.ifname, cidr: ip.address })),
    { kind: 'link', name: att.ifname, type: 'veth' },
    ...routes.map((r) => ({ kind: 'route' as const, dst: r.dst, via: r.gw, dev: att.ifname })),
  ];
  return {
    shared: [bridge, ...gateway(cfg, ips)],
    hostLinks: [veth],
    pod,
    firewall: networkFirewall(cfg, peers, fragments(cfg)),
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
function gateway(cfg: BridgedConfig, ips: { address: string; gateway?: string | undefined }[]): HostObject[] {
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
function podRoutes(cfg: BridgedConfig, ipam: Result): Route[] {
  const routes = [...ipam.routes];
  if (!cfg.isDefaultGateway) return routes;
  for (const ip of ipam.ips) {
    const dst = ipFamily(ip.address) === 4 ? '0.0.0.0/0' : '::/0';
    if (ip.gateway && !routes.some((r) => r.dst === dst)) routes.push({ dst, gw: ip.gateway });
  }
  return routes;
}

function fragments(cfg: BridgedConfig): Fragment[] {
  const out = egressFragments(cfg);
  if (cfg.isolation === 'bridge') out.push({ kind: 'isolation', allow: cfg.isolationAllow });
  return out;
}
