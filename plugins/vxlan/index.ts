// vxlan: the bridge plugins' local wiring, hosts joined by a VXLAN overlay (routed, or one L2 subnet).

import { enginePlugin, reconciler } from '../../lib/engine/index.js';
import { systemHost } from '../../lib/host/system.js';
import { bridgedLinks } from '../../lib/plan/bridged.js';
import { netPlugin } from '../../lib/plan/contract.js';
import { ROUTE_PROTOS } from '../../lib/plan/route-protos.js';
import { loadConfig } from './config.js';
import { HOST_VETH_PREFIX, plan } from './plan.js';
import { status } from './status.js';

/** The plugin as the engine drives it (lib/plan/contract.ts). */
export const net = netPlugin({
  routeProto: ROUTE_PROTOS['vxlan'],
  attachmentLinks: bridgedLinks(HOST_VETH_PREFIX),
  directRoutes: false,
  knownArgs: ['IP'],
  load: loadConfig,
  // The underlay device: its address is the VTEP's, its MTU bounds the pods'.
  uplink: (cfg) => ({ dev: cfg.underlayInterface }),
  plan,
  status,
});

export default enginePlugin(net, systemHost);
/** The agent's: the network's shared state to the peers file as it is now (see lib/engine/reconcile.ts). */
export const reconcile = reconciler(net, systemHost);
