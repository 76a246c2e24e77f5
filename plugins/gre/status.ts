// gre's STATUS check: the kernel must have GRE (ip_gre, or ip6_gre for an IPv6 localIP), loaded or
// loadable; without it no tunnel can be made (50).

import { ipFamily, isIp } from '../../lib/base/ip.js';
import type { NetConf } from '../../lib/cni/config.js';
import { CniError, ErrorCode } from '../../lib/cni/errors.js';
import { kernelHas, noModule } from '../../lib/sys/kernel.js';

export async function status(conf: NetConf): Promise<void> {
  const localIP = conf.raw.localIP;
  const module =
    typeof localIP === 'string' && isIp(localIP) && ipFamily(localIP) === 6 ? 'ip6_gre' : 'ip_gre';
  if (!kernelHas(module)) throw new CniError(ErrorCode.NotAvailable, noModule('GRE', module));
}
