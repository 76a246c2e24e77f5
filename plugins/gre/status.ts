// gre's STATUS check: the kernel must have GRE (ip_gre, or ip6_gre for an IPv6 localIP), loaded or
// loadable; without it no tunnel can be made (50). Files only, no process.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { NetConf } from '../../lib/cni/config.js';
import { CniError, ErrorCode } from '../../lib/cni/errors.js';
import { ipFamily, isIp } from '../../lib/net/ip.js';

export async function status(conf: NetConf): Promise<void> {
  const localIP = conf.raw.localIP;
  const module =
    typeof localIP === 'string' && isIp(localIP) && ipFamily(localIP) === 6 ? 'ip6_gre' : 'ip_gre';
  if (!kernelHas(module))
    throw new CniError(
      ErrorCode.NotAvailable,
      `this kernel (${release()}) has no GRE: module ${module} is neither loaded, built in, nor installed under /lib/modules`,
    );
}

/** The module is loaded or built in (/sys/module), or installed for this kernel (modules.dep). */
export function kernelHas(module: string): boolean {
  if (existsSync(`/sys/module/${module}`)) return true;
  const dir = `/lib/modules/${release()}`;
  for (const list of ['modules.builtin', 'modules.dep']) {
    try {
      if (readFileSync(`${dir}/${list}`, 'utf8').includes(`/${module}.ko`)) return true;
    } catch {
      // no such list
    }
  }
  return false;
}
