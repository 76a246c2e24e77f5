// The engine: a network plugin's verbs, built from its config loader and `plan`. A plugin describes,
// the engine acts; docs/ARCHITECTURE.md shows the flow.
import type { NetConf } from '../cni/config.js';
import type { Logger } from '../cni/log.js';
import type { Plugin } from '../cni/plugin.js';
import type { NetworkConfig } from '../plan/config.js';
import type { NetPlugin } from '../plan/contract.js';
import { add } from './add.js';
import { check } from './check.js';
import { del } from './del.js';
import { gc } from './gc.js';
import { convergeNetwork } from './reconcile.js';
import type { Host } from './seam.js';
import { status } from './status.js';

/** The CNI plugin whose verbs are the engine's, driven by `p`. */
export function enginePlugin<C extends NetworkConfig>(p: NetPlugin<C>, host: Host): Plugin {
  return {
    knownArgs: p.knownArgs ?? [],
    add: (req) => add(p, req, host),
    del: (req) => del(p, req, host),
    check: (req) => check(p, req, host),
    gc: (req) => gc(p, req, host),
    status: (req) => status(p, req, host),
  };
}

/** The network's shared state brought to its config and peers file, as GC does, touching no
 *  attachment: what `cni-suite agent` runs when the peers change. Not a CNI verb. */
export type Reconcile = (conf: NetConf, log: Logger) => Promise<void>;

export const reconciler =
  <C extends NetworkConfig>(p: NetPlugin<C>, host: Host): Reconcile =>
  (conf, log) =>
    convergeNetwork(host, p, conf, log, false);
