// STATUS: can this plugin add pods now? nft (for plugins with a firewall) and the IPAM plugin must be
// there (50 otherwise), the
// IPAM plugin must say it is ready, and for plugins routing via the peers' node IPs, a peer that is
// not on-link limits connectivity (51); the peers list must be readable (7). Only the shared
// config keys are read, so a plugin-specific ADD rule cannot fail it.
import { CniError, ErrorCode } from '../cni/errors.js';
import type { Request } from '../cni/plugin.js';
import { loadNetworkConfig, type NetworkConfig } from '../plan/config.js';
import type { NetPlugin } from '../plan/contract.js';
import { describePeers, parsePeerSource, remotePeers } from '../plan/peers.js';
import { notOnLink } from './check.js';
import { readPeerSource } from './peers-file.js';
import type { Host } from './seam.js';

export async function status<C extends NetworkConfig>(
  p: NetPlugin<C>,
  req: Request,
  host: Host,
): Promise<void> {
  const cfg = loadNetworkConfig(req.conf);
  const tools = { ip: 'iproute2', ...(p.firewall === false ? {} : { nft: 'nftables' }) };
  for (const [tool, pkg] of Object.entries(tools))
    if (!host.hasTool(tool, req.env))
      throw new CniError(ErrorCode.NotAvailable, `${tool} (${pkg}) is not installed on this host`);
  if (!req.ipam && !p.ipamOptional)
    throw new CniError(ErrorCode.NotAvailable, 'no ipam section in the config');
  if (req.ipam && !host.findExecutable(req.ipam.type, req.path)) {
    throw new CniError(
      ErrorCode.NotAvailable,
      `IPAM plugin "${req.ipam.type}" is not in CNI_PATH (${req.path.join(':')})`,
    );
  }
  await req.ipam?.status();
  await p.status?.(req.conf);
  const source = readPeerSource(host, cfg.peers, cfg.peersFile);
  if (source.missing)
    throw new CniError(
      ErrorCode.NotAvailable,
      `peersFile "${source.file}" does not exist yet: has cni-suite agent written it? Pods start without routes to other hosts until it has`,
    );
  const peers = parsePeerSource(source);
  const far = p.directRoutes ? await notOnLink(host, remotePeers(peers, cfg.podCIDRs)) : [];
  if (far.length)
    throw new CniError(ErrorCode.LimitedConnectivity, `peers not on-link: ${describePeers(far)}`);
}
