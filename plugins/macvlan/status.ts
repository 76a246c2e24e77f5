// macvlan's STATUS check: the master must exist and be able to carry macvlan children (50).
import type { NetConf } from '../../lib/cni/config.js';
import { CniError, ErrorCode } from '../../lib/cni/errors.js';
import { defaultRouteDevice } from '../../lib/engine/uplink.js';
import { systemHost } from '../../lib/host/system.js';
import type { IpLink } from '../../lib/plan/state.js';
import { ipJsonIfExists } from '../../lib/sys/ip.js';

/** Kinds of device that cannot be a macvlan master. */
const NOT_A_MASTER = ['macvlan', 'ipvlan'];

export async function status(conf: NetConf): Promise<void> {
  const master = (conf.raw.master as string | undefined) ?? defaultRouteDevice(systemHost);
  if (!master)
    throw new CniError(ErrorCode.NotAvailable, 'master is not set and this host has no default route');
  const [link] = await ipJsonIfExists<IpLink>(['-d', 'link', 'show', 'dev', master]);
  if (!link) throw new CniError(ErrorCode.NotAvailable, `master "${master}" does not exist on this host`);
  const kind = link.linkinfo?.info_kind;
  if (link.flags?.includes('LOOPBACK') || (kind && NOT_A_MASTER.includes(kind)))
    throw new CniError(
      ErrorCode.NotAvailable,
      `master "${master}" (${kind ?? 'loopback'}) cannot carry macvlan children`,
    );
}
