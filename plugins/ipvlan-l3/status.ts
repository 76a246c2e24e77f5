// ipvlan-l3's STATUS check: the kernel must have ipvlan, loaded or loadable (50). The master is not
// looked up (STATUS, DEL and GC never need it).
import { CniError, ErrorCode } from '../../lib/cni/errors.js';
import { kernelHas, noModule } from '../../lib/sys/kernel.js';

export async function status(): Promise<void> {
  if (!kernelHas('ipvlan')) throw new CniError(ErrorCode.NotAvailable, noModule('ipvlan', 'ipvlan'));
}
