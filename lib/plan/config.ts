// The config keys every network plugin shares (lib/plan/network.schema.json), read purely: loading config
// never touches the host. Each plugin's loader adds its own keys on top.
import validateNetwork from '../../gen/network.validate.js';
import { isCidr, subnetProblem } from '../base/ip.js';
import type { NetConf } from '../cni/config.js';
import { configError } from '../cni/errors.js';
import { checkSchema } from '../cni/validate.js';
import { type Peer, parsePeers } from './peers.js';

export interface NetworkConfig {
  network: string;
  /** undefined: the MTU of the host's uplink, read at ADD. */
  mtu: number | undefined;
  ipMasq: boolean;
  /** Destinations never NATed, besides this host's and the peers' pod subnets. */
  clusterCIDR: string[];
  internal: boolean;
  peers: Peer[];
  peersFile: string | undefined;
  /** This host's pod subnets: `podCIDR`, or else the subnets named in the ipam section. */
  podCIDRs: string[];
}

export function loadNetworkConfig(conf: NetConf): NetworkConfig {
  const raw = conf.raw;
  checkSchema(validateNetwork, raw);
  return {
    network: conf.name,
    mtu: raw.mtu as number | undefined,
    ipMasq: (raw.ipMasq as boolean | undefined) ?? true,
    clusterCIDR: cidrList(raw.clusterCIDR, 'clusterCIDR', false),
    internal: (raw.internal as boolean | undefined) ?? false,
    peers: raw.peers === undefined ? [] : parsePeers(raw.peers, 'peers'),
    peersFile: absolutePath(raw.peersFile as string | undefined, 'peersFile'),
    podCIDRs:
      raw.podCIDR === undefined
        ? ipamSubnets((raw.ipam ?? {}) as Record<string, unknown>)
        : cidrList(raw.podCIDR, 'podCIDR', true),
  };
}

/** A path the plugin reads: absolute, since a runtime starts us in whatever directory it likes. */
function absolutePath(path: string | undefined, key: string): string | undefined {
  if (path !== undefined && !path.startsWith('/'))
    throw configError(`${key} "${path}" must be an absolute path, e.g. "/run/cni-suite/peers.json"`);
  return path;
}

/** A string or list of CIDRs; `subnets` also refuses host bits. */
function cidrList(v: unknown, key: string, subnets: boolean): string[] {
  const list = v === undefined ? [] : ([] as string[]).concat(v as string | string[]);
  list.forEach((c, i) => {
    const where = `${key}${Array.isArray(v) ? `[${i}]` : ''} "${c}"`;
    if (!isCidr(c)) throw configError(`${where} is not a CIDR, e.g. "10.244.0.0/16"`);
    const problem = subnets ? subnetProblem(c) : undefined;
    if (problem) throw configError(`${where} ${problem}`);
  });
  return list;
}

/** Subnets named in a host-local-style ipam section (`ranges` and legacy `subnet`): the fallback
 *  for this host's pod subnets when the config has no `podCIDR`. */
function ipamSubnets(ipam: Record<string, unknown>): string[] {
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
