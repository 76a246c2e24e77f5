// bridge-route's config: defaults and validation, pure (never touches the system), so DEL, GC
// and STATUS cannot fail because something on the host changed.

import validate from '../../gen/bridge-route.validate.js';
import type { NetConf } from '../../lib/cni/config.js';
import { CniError, ErrorCode } from '../../lib/cni/errors.js';
import { ipFamily, isCidr } from '../../lib/cni/result.js';
import { checkSchema } from '../../lib/cni/validate.js';
import type { NetworkFirewall } from '../../lib/net/firewall.js';
import { type Peer, parsePeers } from '../../lib/net/peers.js';

export interface BridgeRouteConfig {
  network: string;
  bridge: string;
  /** undefined: the MTU of the host's uplink, read at ADD. */
  mtu: number | undefined;
  isGateway: boolean;
  isDefaultGateway: boolean;
  hairpinMode: boolean;
  promiscMode: boolean;
  ipMasq: boolean;
  /** Destinations never NATed, besides this host's and the peers' pod subnets. */
  clusterCIDR: string[];
  isolation: 'none' | 'bridge';
  /** With isolation "bridge": CIDR pairs whose pods may still talk, both ways. */
  isolationAllow: { from: string; to: string }[];
  internal: boolean;
  peers: Peer[];
  peersFile: string | undefined;
  /** This host's pod subnets, from the ipam section. */
  localSubnets: string[];
}

/** Routing protocol number marking bridge-route's peer routes (`ip route show proto 201`). */
export const PEER_ROUTE_PROTO = 201;
/** Prefix of host-side veth names: vb + 13 hex digits of the attachment's hash. */
export const HOST_VETH_PREFIX = 'vb';

const configError = (msg: string) => new CniError(ErrorCode.InvalidConfig, msg);

export function loadConfig(conf: NetConf): BridgeRouteConfig {
  const raw = conf.raw;
  checkSchema(validate, raw);
  const isDefaultGateway = (raw.isDefaultGateway as boolean | undefined) ?? true;
  // A default route through the bridge needs the gateway address on it.
  const isGateway = isDefaultGateway || ((raw.isGateway as boolean | undefined) ?? true);
  const clusterCIDR =
    raw.clusterCIDR === undefined ? [] : ([] as string[]).concat(raw.clusterCIDR as string | string[]);
  clusterCIDR.forEach((c, i) => {
    if (!isCidr(c))
      throw configError(
        `clusterCIDR${Array.isArray(raw.clusterCIDR) ? `[${i}]` : ''} "${c}" is not a CIDR, e.g. "10.244.0.0/16"`,
      );
  });
  return {
    network: conf.name,
    bridge: (raw.bridge as string | undefined) ?? 'cni0',
    mtu: raw.mtu as number | undefined,
    isGateway,
    isDefaultGateway,
    hairpinMode: (raw.hairpinMode as boolean | undefined) ?? false,
    promiscMode: (raw.promiscMode as boolean | undefined) ?? false,
    ipMasq: (raw.ipMasq as boolean | undefined) ?? true,
    clusterCIDR,
    isolation: (raw.isolation as 'none' | 'bridge' | undefined) ?? 'none',
    isolationAllow: allowPairs(raw.isolationAllow as { from: string; to: string }[] | undefined),
    internal: (raw.internal as boolean | undefined) ?? false,
    peers: raw.peers === undefined ? [] : parsePeers(raw.peers, 'peers'),
    peersFile: raw.peersFile as string | undefined,
    localSubnets: ipamSubnets(raw.ipam as Record<string, unknown>),
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

/** Subnets named in an ipam section (host-local's `ranges` and legacy `subnet`). */
export function ipamSubnets(ipam: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (typeof ipam.subnet === 'string') out.push(ipam.subnet);
  if (Array.isArray(ipam.ranges)) {
    for (const set of ipam.ranges) {
      if (!Array.isArray(set)) continue;
      for (const r of set) if (r && typeof r.subnet === 'string') out.push(r.subnet);
    }
  }
  return out.filter(isCidr);
}

/** The network's firewall settings; the cluster is clusterCIDR plus every pod subnet we know of. */
export function networkFirewall(cfg: BridgeRouteConfig, peers: readonly Peer[]): NetworkFirewall {
  return {
    network: cfg.network,
    ipMasq: cfg.ipMasq,
    internal: cfg.internal,
    isolateBridge: cfg.isolation === 'bridge',
    isolationAllow: cfg.isolationAllow,
    cluster: [...cfg.clusterCIDR, ...cfg.localSubnets, ...peers.map((p) => p.podCIDR)],
  };
}
