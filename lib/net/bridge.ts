// The host's bridge: created once by whichever ADD comes first, verified by every later one.
import { CniError, ErrorCode } from '../cni/errors.js';
import { type IpLink, ip, ipJsonIfExists, isExists } from '../sys/ip.js';
import { randomMac } from './attachment.js';

/** Ensures bridge `name` exists (tolerating a concurrent creator) and returns it. */
export async function ensureBridge(name: string, mtu: number): Promise<IpLink> {
  let link = (await ipJsonIfExists<IpLink>(['-d', 'link', 'show', 'dev', name]))[0];
  if (!link) {
    try {
      // A fixed MAC keeps the bridge's address stable as ports come and go.
      await ip(['link', 'add', name, 'address', randomMac(), 'mtu', String(mtu), 'type', 'bridge']);
    } catch (err) {
      if (!isExists(err)) throw err;
    }
    link = (await ipJsonIfExists<IpLink>(['-d', 'link', 'show', 'dev', name]))[0];
  }
  if (!link)
    throw new CniError(ErrorCode.TryAgainLater, `bridge "${name}" vanished while being created; try again`);
  if (link.linkinfo?.info_kind !== 'bridge') {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `bridge: a device "${name}" exists and is not a bridge (${link.linkinfo?.info_kind ?? 'plain device'})`,
    );
  }
  return link;
}
