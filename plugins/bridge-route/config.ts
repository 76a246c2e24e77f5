// bridge-route's config: the shared network keys plus its own, with defaults; pure (never touches
// the host).
import validate from '../../gen/bridge-route.validate.js';
import type { NetConf } from '../../lib/cni/config.js';
import { configError } from '../../lib/cni/errors.js';
import { checkSchema } from '../../lib/cni/validate.js';
import { loadNetworkConfig, type NetworkConfig } from '../../lib/net/config.js';
import { ipFamily, isCidr } from '../../lib/net/ip.js';

export interface BridgeRouteConfig extends NetworkConfig {
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  hairpinMode: boolean;
  promiscMode: boolean;
  isolation: 'none' | 'bridge';
  /** With isolation "bridge": CIDR pairs whose pods may still talk, both ways. */
  isolationAllow: { from: string; to: string }[];
}

export function loadConfig(conf: NetConf): BridgeRouteConfig {
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
