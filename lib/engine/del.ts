import type { Request } from '../cni/plugin.js';
import { attachmentKey, attachmentLock } from '../plan/attachment.js';
import type { NetworkConfig } from '../plan/config.js';
import type { NetPlugin } from '../plan/contract.js';
import { removeEntriesOf } from './firewall.js';
import { deleteLinks } from './links.js';
import { attachmentOf } from './plugin.js';
import { type Host, NotInstalledError } from './seam.js';
import { settle, throwFirst } from './settle.js';

/**
 * Waits for the attachment's lock (a killed ADD's children may still run), then removes it all, in
 * this order: its links; its firewall entries; its addresses (IPAM). Each step runs whatever the
 * one before did. Links still there mean the attachment was live until now, so the addresses in
 * prevResult are still its own (nobody else can hold them before the release, which comes last):
 * their entries are removed by address, in one `nft` run. Otherwise (a second DEL, an ADD that
 * never finished, no prevResult) they are found by the attachment's key.
 */
export async function del<C extends NetworkConfig>(p: NetPlugin<C>, req: Request, host: Host): Promise<void> {
  const att = attachmentOf(req);
  const key = attachmentKey(att);
  const release = await host.holdLock(attachmentLock(att));
  let done = false;
  try {
    const links = await settle(deleteLinks(host, p.attachmentLinks(att, req.netns)));
    const live = links.status === 'fulfilled' && links.value;
    const addresses = live ? req.conf.prevResult?.ips.map((ip) => ip.address) : undefined;
    const results = [
      links,
      await settle(p.firewall === false ? undefined : removeEntriesOf(host, att.network, key, addresses)),
      await settle(req.ipam?.del()),
    ];
    // Without `ip` links that are there cannot be deleted (nor looked for in the pod): DEL releases
    // what it can, says so, and succeeds (a runtime could do nothing better with an error).
    for (const r of results)
      if (r.status === 'rejected' && r.reason instanceof NotInstalledError)
        req.log.warn(`DEL: ${r.reason.message}; the attachment's links were left as they are`);
    throwFirst(results.filter((r) => !(r.status === 'rejected' && r.reason instanceof NotInstalledError)));
    done = true;
  } finally {
    // The attachment is gone: so goes its lock's file (a DEL for it later makes a new one).
    release({ remove: done });
  }
}
