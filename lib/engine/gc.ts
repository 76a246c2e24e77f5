import type { Request } from '../cni/plugin.js';
import { attachmentKey, attachmentLock, parseLinkAlias } from '../plan/attachment.js';
import type { NetworkConfig } from '../plan/config.js';
import type { NetPlugin } from '../plan/contract.js';
import type { IpLink } from '../plan/state.js';
import { removeAttachments } from './firewall.js';
import { convergeNetwork } from './reconcile.js';
import { type Host, NotInstalledError } from './seam.js';
import { throwFirst } from './settle.js';

/**
 * Removes the host links and firewall entries of attachments not in the valid list (skipping any
 * whose ADD is still running), runs IPAM GC, then converges the network's shared state. Each step
 * runs even if an earlier one failed; the first failure is reported at the end. A step whose tool
 * (`ip`, `nft`) is missing is skipped with a warning, as in DEL: nothing it would touch can exist.
 */
export async function gc<C extends NetworkConfig>(p: NetPlugin<C>, req: Request, host: Host): Promise<void> {
  const network = req.conf.name;
  const valid = new Set(
    req.attachments.map((a) => attachmentKey({ containerId: a.containerID, ifname: a.ifname })),
  );
  const stale = (key: string | undefined) => key !== undefined && !valid.has(key);
  const pruned = await Promise.allSettled([
    pruneLinks(host, network, stale, req),
    p.firewall === false
      ? undefined
      : removeAttachments(host, network, stale).then(
          (n) => n && req.log.info(`GC: removed ${n} firewall entries`),
        ),
    req.ipam?.gc(),
  ]);
  const podsGone = req.attachments.length === 0;
  const results = [
    ...pruned,
    ...(await Promise.allSettled([convergeNetwork(host, p, req.conf, req.log, podsGone)])),
  ];
  for (const r of results)
    if (r.status === 'rejected' && r.reason instanceof NotInstalledError)
      req.log.warn(`GC: ${r.reason.message}; what needs it was skipped`);
  throwFirst(results.filter((r) => !(r.status === 'rejected' && r.reason instanceof NotInstalledError)));
}

/** Every host link of the network, whatever its kind, found by its alias. */
async function pruneLinks(
  host: Host,
  network: string,
  stale: (key: string) => boolean,
  req: Request,
): Promise<void> {
  for (const link of (await host.read(['link', 'show'])) as IpLink[]) {
    const owner = parseLinkAlias(link.ifalias);
    if (owner?.network !== network || !stale(attachmentKey(owner))) continue;
    const release = await host.tryLock(attachmentLock(owner));
    if (!release) continue; // its ADD is running: not stale yet
    let deleted = false;
    try {
      req.log.info(`GC: deleting ${link.ifname} of ${attachmentKey(owner)}`);
      deleted = await host.deleteLink(link.ifname);
    } finally {
      release({ remove: deleted });
    }
  }
}
