// The desired state a plugin's `plan` returns, as typed objects the engine can read, diff and write.
// Ownership: shared objects belong to (plugin, network) and are converged; an attachment's objects
// belong to (plugin, network, containerID, ifname) and are created by ADD and pruned by key.
import type { Dns, Interface, IpConfig, Route } from '../cni/result.js';
import type { FirewallSpec } from './firewall.js';

export type LinkType =
  | 'bridge'
  | 'veth'
  | 'vxlan'
  | 'gre'
  | 'gretap'
  | 'ip6gre'
  | 'ip6gretap'
  | 'macvlan'
  | 'ipvlan';

export interface LinkSpec {
  kind: 'link';
  name: string;
  type: LinkType;
  mtu?: number;
  /** Fixed MAC; a shared link without one gets a random fixed MAC when created. */
  mac?: string;
  /** Parent device (macvlan, ipvlan, vxlan/gre underlay device). */
  parent?: string;
  /** Type-specific arguments after `type <type>`, in `ip link add` syntax, e.g. ['id', '42']. */
  attrs?: string[];
  /** What `ip -d` must show in the link's info_data, e.g. {id: 42}: another value is a conflict
   *  (such attributes cannot be changed in place). */
  data?: Record<string, string | number | boolean>;
  /** veth: the other end, created directly in the netns at `netns`. */
  peer?: { name: string; mac?: string; mtu?: number; netns: string };
  /** Created for this netns (a pod's macvlan or ipvlan child of a host device); the plan's pod
   *  objects set it up there. */
  netns?: string;
  /** With `netns`: its name in the host until it is moved (and renamed) into the pod; see
   *  podLinkHostName. Without: it is created directly inside the netns. */
  hostName?: string;
  /** A shared link only the network's pods need (a host shim): GC deletes it when none is left. */
  whileUsed?: boolean;
  /** Bridge this link is a port of, with the port's options. */
  master?: string;
  hairpin?: boolean;
  isolated?: boolean;
  promisc?: boolean;
  /** Written on attachment links so GC can tell whose they are, and on a shared link to one other
   *  host (a tunnel) so that it goes when its peer leaves the plan (see attachment.ts). */
  alias?: string;
  group?: number;
  /** The plan owns every permanent neighbour and FDB entry on this link: unplanned ones are pruned. */
  ownsEntries?: boolean;
}

export interface AddrSpec {
  kind: 'addr';
  dev: string;
  /** Address with its prefix, e.g. "10.244.1.1/24". */
  cidr: string;
}

export interface RouteSpec {
  kind: 'route';
  dst: string;
  via?: string;
  dev?: string;
  onlink?: boolean;
  /** Routing protocol number: marks the plugin's routes (see NetPlugin.routeProto). */
  proto?: number;
  table?: number;
  /** Route priority; the engine gives shared routes the network's metric (ownership per network). */
  metric?: number;
  mtu?: number;
  advmss?: number;
  scope?: number;
  /** A route via another host's nodeIP (the peer's name): if the kernel refuses it (not on-link),
   *  that is a warning on ADD and error 104 on CHECK, not an ADD failure. */
  peer?: string;
}

export interface NeighSpec {
  kind: 'neigh';
  dev: string;
  ip: string;
  lladdr: string;
}

/** A bridge FDB entry (`bridge fdb`): on a VXLAN device, where frames for `mac` are sent. */
export interface FdbSpec {
  kind: 'fdb';
  dev: string;
  /** 00:00:00:00:00:00 is a flood entry (broadcast and unknown destinations); a device may have several. */
  mac: string;
  dst: string;
}

export interface SysctlSpec {
  kind: 'sysctl';
  key: string;
  value: string;
}

/** Objects inside a pod, written once its links exist (sysctls first, then `ip`). */
export type PodObject = LinkSpec | AddrSpec | RouteSpec | NeighSpec | SysctlSpec;
/** Objects living in a netns, reconciled through `ip` (FDB entries through `bridge`). */
export type NetObject = LinkSpec | AddrSpec | RouteSpec | NeighSpec | FdbSpec;
export type HostObject = NetObject | SysctlSpec;

export interface Plan {
  /** The network's shared objects in the host netns, converged by ADD and GC, checked by CHECK. */
  shared: HostObject[];
  /** The attachment's links in the host netns (a veth's host end), created by ADD, deleted by DEL. */
  hostLinks: LinkSpec[];
  /** The attachment's objects inside the pod: addresses, the link brought up, routes. */
  pod: PodObject[];
  firewall: FirewallSpec | undefined;
  /** The result's interfaces; a host link's MAC, when not fixed, is read back by the engine. */
  interfaces: Interface[];
  ips: IpConfig[];
  routes: Route[];
  dns: Dns;
}

/** A plan with nothing in it, to build on (GC's shared-only plans). */
export const EMPTY_PLAN: Plan = {
  shared: [],
  hostLinks: [],
  pod: [],
  firewall: undefined,
  interfaces: [],
  ips: [],
  routes: [],
  dns: {},
};

/**
 * A link an attachment may have left, as DEL and a failed ADD look for it: by name, in the host or
 * in the pod (`netns`). With `type`, a link of another kind under that name is not ours; with
 * `alias`, neither is one that does not carry it (a pod's interface of another owner under CNI_IFNAME).
 */
export interface OwnedLink {
  name: string;
  netns?: string | undefined;
  type?: LinkType;
  alias?: string;
}

export interface AttachmentId {
  network: string;
  containerId: string;
  ifname: string;
}
