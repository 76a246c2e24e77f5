// macvlan's config: the shared network keys plus the master, mode and host shim; pure.
import validate from '../../gen/macvlan.validate.js';
import { isIp } from '../../lib/base/ip.js';
import type { NetConf } from '../../lib/cni/config.js';
import { configError } from '../../lib/cni/errors.js';
import { checkSchema } from '../../lib/cni/validate.js';
import { loadNetworkConfig, type NetworkConfig } from '../../lib/plan/config.js';

export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';

export interface MacvlanConfig extends NetworkConfig {
  /** undefined: the device of the default route, looked up at ADD. */
  master: string | undefined;
  mode: MacvlanMode;
  /** The address of the host's shim (a macvlan child of the master) through which it reaches its pods. */
  hostShim: string | undefined;
}

export function loadConfig(conf: NetConf): MacvlanConfig {
  const raw = conf.raw;
  const shared = loadNetworkConfig(conf);
  checkSchema(validate, raw);
  const hostShim = raw.hostShim as string | undefined;
  if (hostShim !== undefined && !isIp(hostShim))
    throw configError(`hostShim "${hostShim}" must be the shim's IP address, e.g. "192.168.1.223"`);
  if (hostShim !== undefined && raw.podCIDR === undefined)
    throw configError(
      'hostShim needs podCIDR: this host\'s slice of the LAN as a CIDR (e.g. "192.168.1.192/27"), routed through the shim',
    );
  const mode = (raw.mode as MacvlanMode | undefined) ?? 'bridge';
  if (hostShim !== undefined && mode !== 'bridge')
    throw configError(`hostShim needs mode "bridge": in mode "${mode}" the shim cannot reach the pods`);
  return { ...shared, master: raw.master as string | undefined, mode, hostShim };
}
