// ipvlan-l3's config: the shared network keys plus the master, mode and host shim; pure.
import validate from '../../gen/ipvlan-l3.validate.js';
import type { NetConf } from '../../lib/cni/config.js';
import { configError } from '../../lib/cni/errors.js';
import { checkSchema } from '../../lib/cni/validate.js';
import { loadNetworkConfig, type NetworkConfig } from '../../lib/plan/config.js';

export interface IpvlanConfig extends NetworkConfig {
  /** undefined: the device of the default route, looked up at ADD. */
  master: string | undefined;
  /** l3s: the host's netfilter sees the pods' traffic both ways (conntrack, NAT). */
  mode: 'l3' | 'l3s';
  /** An ipvlan child on the host with a route to this host's pods, so the host reaches them. */
  hostShim: boolean;
}

export function loadConfig(conf: NetConf): IpvlanConfig {
  const raw = conf.raw;
  const shared = loadNetworkConfig(conf);
  checkSchema(validate, raw);
  const mode = (raw.mode as 'l3' | 'l3s' | undefined) ?? 'l3';
  // Pod addresses are routed by every host: NAT is asked for, not assumed.
  const ipMasq = raw.ipMasq === true;
  for (const key of ['ipMasq', 'internal'] as const)
    if (raw[key] === true && mode !== 'l3s')
      throw configError(
        `${key} needs mode "l3s": in mode "l3" replies to the pods bypass the host's netfilter, so it can neither un-NAT nor filter them`,
      );
  if (!shared.podCIDRs.length)
    throw configError("podCIDR is not set and ipam names no subnet: set podCIDR, this host's pod subnet");
  return {
    ...shared,
    ipMasq,
    master: raw.master as string | undefined,
    mode,
    hostShim: raw.hostShim !== false,
  };
}
