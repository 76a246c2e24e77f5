// vxlan's STATUS check: another VXLAN device with this network's VNI and port makes the kernel refuse
// ours ("a VXLAN device with the specified VNI already exists"), so no pod could be added (50).
// Devices with other VNIs share the UDP port with ours and are no conflict.
import type { NetConf } from '../../lib/cni/config.js';
import { CniError, ErrorCode } from '../../lib/cni/errors.js';
import type { IpLink } from '../../lib/plan/state.js';
import { ipJson } from '../../lib/sys/ip.js';
import { deviceKeys } from './config.js';
import { vxlanDevice } from './plan.js';

export async function status(conf: NetConf): Promise<void> {
  const { vni, port } = deviceKeys(conf.raw);
  const devices = await ipJson<IpLink[]>(['-d', 'link', 'show', 'type', 'vxlan']);
  const taken = devices.find(
    (l) =>
      l.ifname !== vxlanDevice(vni) &&
      l.linkinfo?.info_data?.id === vni &&
      l.linkinfo.info_data.port === port,
  );
  if (taken)
    throw new CniError(
      ErrorCode.NotAvailable,
      `VXLAN device "${taken.ifname}" already uses vni ${vni} on port ${port}; the kernel allows one`,
    );
}
