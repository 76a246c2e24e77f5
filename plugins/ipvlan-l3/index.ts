// ipvlan-l3: the pod is an ipvlan L3 child of a host NIC; hosts route each other's pod subnets; a
// host shim lets the host reach its pods. A plan on the shared engine.
import { podChildLinks } from '../../lib/net/attachment.js';
import { enginePlugin } from '../../lib/net/engine/index.js';
import { loadConfig } from './config.js';
import { plan } from './plan.js';
import { status } from './status.js';

/** Routing protocol number of ipvlan-l3's peer and shim routes (`ip route show proto 205`). */
export const ROUTE_PROTO = 205;

export default enginePlugin({
  routeProto: ROUTE_PROTO,
  // The pod's link lives in the pod: DEL removes it there while the netns exists (and in the host,
  // where a killed ADD may have left it before its move).
  attachmentLinks: podChildLinks('ipvlan'),
  directRoutes: true,
  knownArgs: ['IP'],
  load: loadConfig,
  // The master: its MTU bounds the pods', the shim is its child.
  uplink: (cfg) => ({ dev: cfg.master }),
  plan,
  status,
});
