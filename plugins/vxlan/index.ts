// vxlan: the bridge plugins' local wiring, hosts joined by a VXLAN overlay (routed, or one L2 subnet).
import { bridgedLinks } from '../../lib/net/bridged.js';
import { enginePlugin } from '../../lib/net/engine/index.js';
import { loadConfig } from './config.js';
import { HOST_VETH_PREFIX, plan } from './plan.js';
import { status } from './status.js';

/** Routing protocol number of vxlan's routes to other hosts (`ip route show proto 202`). */
export const ROUTE_PROTO = 202;

export default enginePlugin({
  routeProto: ROUTE_PROTO,
  attachmentLinks: bridgedLinks(HOST_VETH_PREFIX),
  directRoutes: false,
  knownArgs: ['IP'],
  load: loadConfig,
  // The underlay device: its address is the VTEP's, its MTU bounds the pods'.
  uplink: (cfg) => ({ dev: cfg.underlayInterface }),
  plan,
  status,
});
