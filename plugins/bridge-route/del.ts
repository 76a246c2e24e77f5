// DEL is total: IPAM release, host veth (by its derived name) and firewall entries (by key) are
// removed independently; none needs the container's netns, and whatever is already gone is success.
import type { Request } from '../../lib/cni/plugin.js';
import { type AttachmentId, attachmentKey, hostLinkName } from '../../lib/net/attachment.js';
import { removeAttachments } from '../../lib/net/firewall.js';
import { deleteLink } from '../../lib/net/links.js';
import { HOST_VETH_PREFIX, loadConfig } from './config.js';

export async function del(req: Request): Promise<void> {
  const cfg = loadConfig(req.conf);
  const id: AttachmentId = { network: cfg.network, containerId: req.containerId, ifname: req.ifname };
  const key = attachmentKey(id);
  const results = await Promise.allSettled([
    req.ipam?.del(),
    deleteLink(hostLinkName(id, HOST_VETH_PREFIX)),
    removeAttachments(cfg.network, (k) => k === key),
  ]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
