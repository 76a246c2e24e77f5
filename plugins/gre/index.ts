// gre: the bridge plugins' local wiring, hosts joined by GRE tunnels (routed, or gretap ports on the
// bridge with one subnet across hosts). A plan on the shared engine.
import { bridgedLinks } from '../../lib/net/bridged.js';
import { enginePlugin } from '../../lib/net/engine/index.js';
import { loadConfig } from './config.js';
import { HOST_VETH_PREFIX, plan } from './plan.js';
import { status } from './status.js';

/** Routing protocol number of gre's routes to other hosts (`ip route show proto 204`). */
export const ROUTE_PROTO = 204;

export default enginePlugin({
  routeProto: ROUTE_PROTO,
  attachmentLinks: bridgedLinks(HOST_VETH_PREFIX),
  directRoutes: false,
  knownArgs: ['IP'],
  load: loadConfig,
  // The underlay device: its address is the tunnels' source, its MTU bounds the pods'.
  uplink: (cfg) => ({ dev: cfg.underlayInterface }),
  plan,
  status,
});
