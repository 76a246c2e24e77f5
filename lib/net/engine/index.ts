// The engine: a network plugin's verbs, built from its config loader and `plan`. A plugin describes,
// the engine acts; docs/ARCHITECTURE.md shows the flow.
import type { Plugin } from '../../cni/plugin.js';
import type { NetworkConfig } from '../config.js';
import { add } from './add.js';
import { check } from './check.js';
import type { NetPlugin } from './plugin.js';
import { convergeNetwork, del, gc } from './prune.js';
import { status } from './status.js';

export type { NetPlugin, PlanInput } from './plugin.js';

/** The CNI plugin whose verbs are the engine's, driven by `p`. */
export function enginePlugin<C extends NetworkConfig>(p: NetPlugin<C>): Plugin {
  return {
    knownArgs: p.knownArgs ?? [],
    add: (req) => add(p, req),
    del: (req) => del(p, req),
    check: (req) => check(p, req),
    gc: (req) => gc(p, req),
    status: (req) => status(p, req),
    reconcile: (conf, log) => convergeNetwork(p, conf, log, false),
  };
}
