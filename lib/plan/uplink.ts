// The host's uplink as a plan sees it: the device a plan depends on for its MTU and underlay
// address (read by the engine, lib/engine/uplink.ts), and the MTU of a pod's child link of it.
import { configError } from '../cni/errors.js';

export interface Uplink {
  /** '' when the host has no default route and none was named. */
  dev: string;
  /** The device exists (a named one may not). */
  found: boolean;
  mtu: number;
  /** Its MAC ('' when unknown): an ipvlan child has its master's. */
  mac: string;
  /** Its global addresses, "addr/prefix", IPv4 first. */
  addrs: string[];
}

export const NO_UPLINK: Uplink = { dev: '', found: false, mtu: 1500, mac: '', addrs: [] };

/**
 * The MTU of a child link of the master (macvlan, ipvlan): the configured one, at most the
 * master's, else the master's. Code 7 naming `master` when there is none.
 */
export function childMtu(
  cfg: { master: string | undefined; mtu: number | undefined },
  master: Uplink,
): number {
  if (!master.found)
    throw configError(
      cfg.master
        ? `master "${cfg.master}" does not exist on this host`
        : 'master is not set and this host has no default route to take it from; set master',
    );
  if (cfg.mtu !== undefined && cfg.mtu > master.mtu)
    throw configError(`mtu ${cfg.mtu} is above the MTU ${master.mtu} of master "${master.dev}"`);
  return cfg.mtu ?? master.mtu;
}
