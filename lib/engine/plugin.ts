// The engine's side of the plugin contract (lib/plan/contract.ts): a request's attachment and
// arguments, and the uplink the plugin asks for, read from the host.

import { pickArg } from '../cni/args.js';
import type { Request } from '../cni/plugin.js';
import type { NetworkConfig } from '../plan/config.js';
import type { AttachmentArgs, NetPlugin } from '../plan/contract.js';
import type { AttachmentId } from '../plan/model.js';
import { NO_UPLINK, type Uplink } from '../plan/uplink.js';
import type { Host } from './seam.js';
import { type RecentUplink, readUplink, recentUplink } from './uplink.js';

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

export const attachmentOf = (req: Request): AttachmentId => ({
  network: req.conf.name,
  containerId: req.containerId,
  ifname: req.ifname,
});

/** The uplink the plugin asks for ({}: the default route's device), or false for none. */
const wantedUplink = <C extends NetworkConfig>(p: NetPlugin<C>, cfg: C) =>
  p.uplink ? p.uplink(cfg) : cfg.mtu === undefined && {};

/** Reads the uplink the plugin asks for (one `ip` run), or none. */
export async function uplinkFor<C extends NetworkConfig>(
  host: Host,
  p: NetPlugin<C>,
  cfg: C,
): Promise<Uplink> {
  const want = wantedUplink(p, cfg);
  return want ? readUplink(host, want.dev) : NO_UPLINK;
}

/** ADD's uplink: as read in the last UPLINK_TRUSTED_MS on this host (see recentUplink), or none. */
export async function recentUplinkFor<C extends NetworkConfig>(
  host: Host,
  p: NetPlugin<C>,
  cfg: C,
): Promise<RecentUplink> {
  const want = wantedUplink(p, cfg);
  return want ? recentUplink(host, want.dev) : { uplink: NO_UPLINK, recalled: false };
}
