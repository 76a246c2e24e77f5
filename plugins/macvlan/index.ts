// macvlan: the pod is a macvlan child of a host NIC, with its own MAC on the LAN; an optional host
// shim lets the host reach its pods. A plan on the shared engine.
import { podChildLinks } from '../../lib/net/attachment.js';
import { enginePlugin } from '../../lib/net/engine/index.js';
import { loadConfig } from './config.js';
import { plan } from './plan.js';
import { status } from './status.js';

/** Routing protocol number of macvlan's shim routes (`ip route show proto 203`). */
export const ROUTE_PROTO = 203;

export default enginePlugin({
  routeProto: ROUTE_PROTO,
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
