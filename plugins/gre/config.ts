// gre's config: the bridge plugins' keys, the underlay's, and the tunnels'; pure.
import validate from '../../gen/gre.validate.js';
import type { NetConf } from '../../lib/cni/config.js';
import { checkSchema } from '../../lib/cni/validate.js';
import { type BridgedConfig, loadBridgedConfig } from '../../lib/plan/bridged.js';
import { loadUnderlay, type Underlay } from '../../lib/plan/tunnel.js';

export interface GreConfig extends BridgedConfig, Underlay {
  /** l3: a routed GRE tunnel per peer; l2: a gretap port per peer on the bridge, one subnet. */
  mode: 'l3' | 'l2';
  /** GRE key of every tunnel (both directions); undefined: none. */
  key: number | undefined;
  ttl: number;
}

export function loadConfig(conf: NetConf): GreConfig {
  const raw = conf.raw;
  const bridged = loadBridgedConfig(conf);
  const underlay = loadUnderlay(raw);
  checkSchema(validate, raw);
  return {
    ...bridged,
    ...underlay,
    mode: (raw.mode as 'l3' | 'l2' | undefined) ?? 'l3',
    key: raw.key as number | undefined,
    ttl: (raw.ttl as number | undefined) ?? 64,
  };
}
