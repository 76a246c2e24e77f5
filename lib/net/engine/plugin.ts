// What a network plugin gives the engine: its config loader and its `plan` (pure), which describes
// the desired state; the engine reads, diffs and writes it for every verb.

import { pickArg } from '../../cni/args.js';
import type { NetConf } from '../../cni/config.js';
import type { Request } from '../../cni/plugin.js';
import type { Result } from '../../cni/result.js';
import { networkMetric } from '../attachment.js';
import type { NetworkConfig } from '../config.js';
import type { AttachmentId, OwnedLink, Plan } from '../model.js';
import type { Peer } from '../peers.js';
import type { RouteOwner } from '../state.js';
import { NO_UPLINK, type RecentUplink, readUplink, recentUplink, type Uplink } from '../uplink.js';

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

/** The per-attachment arguments of a request, each from its highest-precedence source. */
export function attachmentArgs(req: Request): AttachmentArgs {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    mac: pickArg({
      cniArgs: req.cniArgs.MAC,
      argsCni: str(req.conf.argsCni.mac),
      runtimeConfig: str(req.conf.runtimeConfig.mac),
    }),
  };
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

export const routeOwner = (p: { routeProto: number }, network: string): RouteOwner => ({
  proto: p.routeProto,
  metric: networkMetric(network),
  network,
});

export const attachmentOf = (req: Request): AttachmentId => ({
  network: req.conf.name,
  containerId: req.containerId,
  ifname: req.ifname,
});

/** The uplink the plugin asks for ({}: the default route's device), or false for none. */
const wantedUplink = <C extends NetworkConfig>(p: NetPlugin<C>, cfg: C) =>
  p.uplink ? p.uplink(cfg) : cfg.mtu === undefined && {};

/** Reads the uplink the plugin asks for (one `ip` run), or none. */
export async function uplinkFor<C extends NetworkConfig>(p: NetPlugin<C>, cfg: C): Promise<Uplink> {
  const want = wantedUplink(p, cfg);
  return want ? readUplink(want.dev) : NO_UPLINK;
}

/** ADD's uplink: as read in the last UPLINK_TRUSTED_MS on this host (see recentUplink), or none. */
export async function recentUplinkFor<C extends NetworkConfig>(
  p: NetPlugin<C>,
  cfg: C,
): Promise<RecentUplink> {
  const want = wantedUplink(p, cfg);
  return want ? recentUplink(want.dev) : { uplink: NO_UPLINK, recalled: false };
}
