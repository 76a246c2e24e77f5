// STATUS: can this plugin add pods now? nft and the IPAM plugin must be there (50 otherwise), the
// IPAM plugin must say it is ready, and a peer that cannot be reached directly limits connectivity (51).
import { CniError, ErrorCode } from '../../lib/cni/errors.js';
import type { Request } from '../../lib/cni/plugin.js';
import { describePeers, loadPeers } from '../../lib/net/peers.js';
import { findExecutable } from '../../lib/sys/files.js';
import { type IpRoute, ipJson } from '../../lib/sys/ip.js';
import { loadConfig } from './config.js';

export async function status(req: Request): Promise<void> {
  const cfg = loadConfig(req.conf);
  const path = (req.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  if (!findExecutable('nft', path))
    throw new CniError(ErrorCode.NotAvailable, 'nft (nftables) is not installed on this host');
  if (!req.ipam) throw new CniError(ErrorCode.NotAvailable, 'no ipam section in the config');
  if (!findExecutable(req.ipam.type, req.path)) {
    throw new CniError(
      ErrorCode.NotAvailable,
      `IPAM plugin "${req.ipam.type}" is not in CNI_PATH (${req.path.join(':')})`,
    );
  }
  await req.ipam.status();
  const peers = loadPeers(cfg.peers, cfg.peersFile).filter((p) => !cfg.localSubnets.includes(p.podCIDR));
  const unreachable = [];
  for (const p of peers) {
    const [route] = await ipJson<IpRoute[]>(['route', 'get', p.nodeIP]).catch(() => [] as IpRoute[]);
    if (!route || route.gateway) unreachable.push(p);
  }
  if (unreachable.length)
    throw new CniError(ErrorCode.LimitedConnectivity, `peers not on-link: ${describePeers(unreachable)}`);
}
