// bridge-route: pods on a Linux bridge per host, direct routes to the other hosts' pod subnets,
// NAT only for traffic leaving the cluster. A plan on the shared engine.
import { bridgedLinks, loadBridgedConfig } from '../../lib/net/bridged.js';
import { enginePlugin } from '../../lib/net/engine/index.js';
import { HOST_VETH_PREFIX, plan } from './plan.js';

/** Routing protocol number of bridge-route's peer routes (`ip route show proto 201`). */
export const PEER_ROUTE_PROTO = 201;

export default enginePlugin({
  routeProto: PEER_ROUTE_PROTO,
  attachmentLinks: bridgedLinks(HOST_VETH_PREFIX),
  directRoutes: true,
  knownArgs: ['IP'],
  load: loadBridgedConfig,
  plan,
});
