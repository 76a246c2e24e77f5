// The plugin contract: what a network plugin gives the engine (its config loader and its pure
// `plan`, which describes the desired state), and what a plan is given. Types and one pure helper:
// nothing here does I/O; the engine (lib/engine) reads, diffs and writes for every verb.
import type { NetConf } from '../cni/config.js';
import type { Result } from '../cni/result.js';
import { networkMetric } from './attachment.js';
import type { NetworkConfig } from './config.js';
import type { AttachmentId, OwnedLink, Plan } from './model.js';
import type { Peer } from './peers.js';
import type { RouteOwner } from './state.js';
import type { Uplink } from './uplink.js';

export interface PlanInput<C> {
  cfg: C;
  peers: Peer[];
  att: AttachmentId;
  /** Path of the pod's netns ('' on GC, which plans the shared objects only). */
  netns: string;
  /** The device the plan depends on (see NetPlugin.uplink); NO_UPLINK when it needs none. */
  uplink: Uplink;
  /**
   * Plan the objects to other hosts (routes, neighbours, FDB entries)? false on an ADD whose
   * inputs are those last converged (see scope.ts): leave them out, to keep ADD flat as peers grow.
   */
  remote: boolean;
  /** Per-attachment arguments (CNI_ARGS < args.cni < runtimeConfig). */
  args: AttachmentArgs;
  /** The IPAM result (ADD) or prevResult (CHECK); undefined while ADD still waits for IPAM, and on GC. */
  ipam: Result | undefined;
}

export interface AttachmentArgs {
  /** MAC: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC. */
  mac?: string | undefined;
}

export interface NetPlugin<C extends NetworkConfig = NetworkConfig> {
  /** Routing protocol number of the plugin's shared routes (`ip route show proto N`). */
  routeProto: number;
  /** The attachment's links DEL deletes by name: a host link (and where it lives), found without
   *  the plugin's config, with what proves it is ours. `netns` is the pod's, '' when the runtime gave none. */
  attachmentLinks(att: AttachmentId, netns: string): OwnedLink[];
  /** Its routes to other hosts go `via nodeIP`, so a peer that is not on-link limits connectivity
   *  (STATUS 51). An overlay reaches peers through any underlay route: false. */
  directRoutes: boolean;
  /** CNI_ARGS keys the plugin reads. */
  knownArgs?: readonly string[];
  /** Its plans have no firewall: STATUS does not need nft, DEL and GC do not look there. Default: true. */
  firewall?: boolean;
  /** Without an ipam section the pod gets no address (L2 only); default: ipam is required. */
  ipamOptional?: boolean;
  /** The full, strict config load for ADD, CHECK and GC's convergence. */
  load(conf: NetConf): C;
  /**
   * The host device whose MTU and addresses the plan needs (`dev` undefined: the default route's),
   * or false. Without this hook: the default route's device, unless `mtu` is configured.
   */
  uplink?(cfg: C): { dev?: string | undefined } | false;
  /** More STATUS checks (after the engine's), with the lenient config STATUS reads. */
  status?(conf: NetConf): Promise<void>;
  plan(input: PlanInput<C>): Plan;
}

/** A plugin's contract as written (an identity: it lets TypeScript infer the config type). */
export const netPlugin = <C extends NetworkConfig>(p: NetPlugin<C>): NetPlugin<C> => p;

export const routeOwner = (p: { routeProto: number }, network: string): RouteOwner => ({
  proto: p.routeProto,
  metric: networkMetric(network),
  network,
});
