// macvlan: the pod is a macvlan child of a host NIC, with its own MAC on the LAN; an optional host
// shim lets the host reach its pods. A plan on the shared engine.

import { enginePlugin, reconciler } from '../../lib/engine/index.js';
import { systemHost } from '../../lib/host/system.js';
import { podChildLinks } from '../../lib/plan/attachment.js';
import { netPlugin } from '../../lib/plan/contract.js';
import { ROUTE_PROTOS } from '../../lib/plan/route-protos.js';
import { loadConfig } from './config.js';
import { plan } from './plan.js';
import { status } from './status.js';

/** The plugin as the engine drives it (lib/plan/contract.ts). */
export const net = netPlugin({
  routeProto: ROUTE_PROTOS['macvlan'],
  // The pod's link lives in the pod: DEL removes it there while the netns exists (and in the host,
  // where a killed ADD may have left it before its move).
  attachmentLinks: podChildLinks('macvlan'),
  directRoutes: false,
  firewall: false,
  ipamOptional: true,
  knownArgs: ['IP', 'MAC'],
  load: loadConfig,
  // The master: its MTU bounds the pods'.
  uplink: (cfg) => ({ dev: cfg.master }),
  plan,
  status,
});

export default enginePlugin(net, systemHost);
/** The agent's: the network's shared state to the peers file as it is now (see lib/engine/reconcile.ts). */
export const reconcile = reconciler(net, systemHost);
