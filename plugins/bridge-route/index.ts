// bridge-route: pods on a Linux bridge per host, direct routes to the other hosts' pod subnets,
// NAT only for traffic leaving the cluster. A plan on the shared engine.

import { enginePlugin, reconciler } from '../../lib/engine/index.js';
import { systemHost } from '../../lib/host/system.js';
import { bridgedLinks, loadBridgedConfig } from '../../lib/plan/bridged.js';
import { netPlugin } from '../../lib/plan/contract.js';
import { ROUTE_PROTOS } from '../../lib/plan/route-protos.js';
import { HOST_VETH_PREFIX, plan } from './plan.js';

/** The plugin as the engine drives it (lib/plan/contract.ts). */
export const net = netPlugin({
  routeProto: ROUTE_PROTOS['bridge-route'],
  attachmentLinks: bridgedLinks(HOST_VETH_PREFIX),
  directRoutes: true,
  knownArgs: ['IP'],
  load: loadBridgedConfig,
  plan,
});

export default enginePlugin(net, systemHost);
/** The agent's: the network's shared state to the peers file as it is now (see lib/engine/reconcile.ts). */
export const reconcile = reconciler(net, systemHost);
