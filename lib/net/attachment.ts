// Names derived from an attachment (network, container ID, ifname), so DEL and GC find host-side
// state without entering the container's netns and without any state file.
import { createHash, randomBytes } from 'node:crypto';

export interface AttachmentId {
  network: string;
  containerId: string;
  ifname: string;
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex');

/** Key used in firewall comments: unique within a network. */
export const attachmentKey = (a: Pick<AttachmentId, 'containerId' | 'ifname'>) =>
  `${a.containerId}/${a.ifname}`;

/** Host-side device name: `prefix` + 11 hex digits of the attachment's hash (≤ 15 bytes). */
export const hostLinkName = (a: AttachmentId, prefix: string) =>
  `${prefix}${hash(a.network, a.containerId, a.ifname).slice(0, 15 - prefix.length)}`;

/** The alias written on host-side devices: GC reads it back to know whose device it is. */
export const linkAlias = (a: AttachmentId) => `cni-suite/${a.network}/${a.containerId}/${a.ifname}`;

export function parseLinkAlias(alias: string | undefined): AttachmentId | undefined {
  const m = alias ? /^cni-suite\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(alias) : null;
  return m ? { network: m[1]!, containerId: m[2]!, ifname: m[3]! } : undefined;
}

/** Short stable id of a network for nft chain/set names. */
export const networkTag = (network: string) => `n${hash(network).slice(0, 10)}`;

/** Interface group of a network's host-side ports (the bridge family cannot match the bridge's name). */
export const networkGroup = (network: string) => (Number.parseInt(hash(network).slice(0, 7), 16) | 1) >>> 0;

/** A random locally administered unicast MAC. */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
