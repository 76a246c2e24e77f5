// vxlan's config: the bridge plugins' keys plus the overlay's, with defaults; pure.
import validate from '../../gen/vxlan.validate.js';
import type { NetConf } from '../../lib/cni/config.js';
import { configError } from '../../lib/cni/errors.js';
import { checkSchema } from '../../lib/cni/validate.js';
import { type BridgedConfig, loadBridgedConfig } from '../../lib/plan/bridged.js';
import { loadUnderlay, type Underlay } from '../../lib/plan/tunnel.js';

export interface VxlanConfig extends BridgedConfig, Underlay {
  vni: number;
  port: number;
  mode: 'routed' | 'l2';
  directRouting: boolean;
  /** With a NAT hook on the host, keep the tunnel's UDP packets out of conntrack. */
  untrackTunnel: boolean;
}

/**
 * The device's VNI and UDP port, with their defaults: the lenient read STATUS makes (it must not
 * fail on an ADD-time rule), in the one place that knows the defaults.
 */
export const deviceKeys = (raw: Record<string, unknown>): { vni: number; port: number } => ({
  vni: typeof raw.vni === 'number' ? raw.vni : 1,
  port: typeof raw.port === 'number' ? raw.port : 4789,
});

export function loadConfig(conf: NetConf): VxlanConfig {
  const raw = conf.raw;
  const bridged = loadBridgedConfig(conf);
  const underlay = loadUnderlay(raw);
  checkSchema(validate, raw);
  const mode = (raw.mode as 'routed' | 'l2' | undefined) ?? 'routed';
  if (mode === 'l2' && raw.directRouting === true)
    throw configError('directRouting applies to mode "routed" only; in mode "l2" all hosts share one subnet');
  return {
    ...bridged,
    ...underlay,
    ...deviceKeys(raw),
    mode,
    directRouting: (raw.directRouting as boolean | undefined) ?? false,
    untrackTunnel: (raw.untrackTunnel as boolean | undefined) ?? true,
  };
}
