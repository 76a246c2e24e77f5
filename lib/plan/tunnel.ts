// The underlay of the overlay plugins (vxlan, gre): the device their tunnels leave by and this
// host's address on it, which the other hosts know as its nodeIP.
import validate from '../../gen/tunnel.validate.js';
import { isIp } from '../base/ip.js';
import { configError } from '../cni/errors.js';
import { checkSchema } from '../cni/validate.js';
import type { Uplink } from './uplink.js';

export interface Underlay {
  /** undefined: the device of the default route. */
  underlayInterface: string | undefined;
  /** undefined: the first address of the underlay device. */
  localIP: string | undefined;
}

export function loadUnderlay(raw: Record<string, unknown>): Underlay {
  checkSchema(validate, raw);
  const localIP = raw.localIP as string | undefined;
  if (localIP !== undefined && !isIp(localIP))
    throw configError(`localIP "${localIP}" is not an IP address, e.g. "192.168.1.11"`);
  return { underlayInterface: raw.underlayInterface as string | undefined, localIP };
}

/** The underlay address: localIP, or the underlay device's first address. */
export function localAddress(cfg: Underlay, uplink: Uplink): string {
  const found = cfg.localIP ?? uplink.addrs[0]?.split('/')[0];
  if (!found)
    throw configError(
      `localIP is not set and the underlay device ${uplink.dev ? `"${uplink.dev}" has no address` : 'is unknown (no default route)'}; set localIP or underlayInterface`,
    );
  return found;
}
