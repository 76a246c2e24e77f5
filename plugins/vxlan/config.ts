// vxlan's config: the bridge plugins' keys plus the overlay's, with defaults; pure.
import validate from '../../gen/vxlan.validate.js';
import type { NetConf } from '../../lib/cni/config.js';
import { configError } from '../../lib/cni/errors.js';
import { checkSchema } from '../../lib/cni/validate.js';
import { type BridgedConfig, loadBridgedConfig } from '../../lib/net/bridged.js';
import { isIp } from '../../lib/net/ip.js';

export interface VxlanConfig extends BridgedConfig {
  vni: number;
  port: number;
  /** undefined: the device of the default route. */
  underlayInterface: string | undefined;
  /** undefined: the first address of the underlay device. */
  localIP: string | undefined;
  mode: 'routed' | 'l2';
  directRouting: boolean;
  /** With a NAT hook on the host, keep the tunnel's UDP packets out of conntrack. */
  untrackTunnel: boolean;
}

export function loadConfig(conf: NetConf): VxlanConfig {
  const raw = conf.raw;
  const bridged = loadBridgedConfig(conf);
  checkSchema(validate, raw);
  const localIP = raw.localIP as string | undefined;
  if (localIP !== undefined && !isIp(localIP))
    throw configError(`localIP "${localIP}" is not an IP address, e.g. "192.168.1.11"`);
  const mode = (raw.mode as 'routed' | 'l2' | undefined) ?? 'routed';
  if (mode === 'l2' && raw.directRouting === true)
    throw configError('directRouting applies to mode "routed" only; in mode "l2" all hosts share one subnet');
  return {
    ...bridged,
    vni: (raw.vni as number | undefined) ?? 1,
    port: (raw.port as number | undefined) ?? 4789,
    underlayInterface: raw.underlayInterface as string | undefined,
    localIP,
    mode,
    directRouting: (raw.directRouting as boolean | undefined) ?? false,
    untrackTunnel: (raw.untrackTunnel as boolean | undefined) ?? true,
  };
}
