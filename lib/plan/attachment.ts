// Names derived from an attachment (network, container ID, ifname) or a network, so DEL and GC find
// host-side state without entering the container's netns and without any state file, and so a
// plan is a pure function of its inputs.
import type { AttachmentId, LinkType, OwnedLink } from './model.js';

/**
 * 64 bits of a non-cryptographic hash as 16 hex digits: two independent 32-bit FNV-1a-style lanes.
 * Names only need to be stable and unlikely to collide; node:crypto would add ~3 ms to every start.
 */
export function shortHash(...parts: string[]): string {
  const text = parts.join('\0');
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** nft refuses a comment longer than this many bytes. */
export const NFT_COMMENT_MAX = 128;

/**
 * Key used in firewall comments: unique within a network. `<containerID>/<ifname>`, or, when that
 * is longer than an nft comment may be (a container ID over ~112 characters), `#` and its hash.
 */
export function attachmentKey(a: Pick<AttachmentId, 'containerId' | 'ifname'>): string {
  const key = `${a.containerId}/${a.ifname}`;
  return key.length <= NFT_COMMENT_MAX ? key : `#${shortHash(a.containerId, a.ifname)}`;
}

/** Host-side device name: `prefix` + as many hex digits of the attachment's hash as fit in 15 bytes. */
export const hostLinkName = (a: AttachmentId, prefix: string) =>
  `${prefix}${shortHash(a.network, a.containerId, a.ifname).slice(0, 15 - prefix.length)}`;

/**
 * The host-side name of a pod's child link (macvlan, ipvlan) from its creation until its move into
 * the pod, where it takes CNI_IFNAME (a name the host may have too, such as eth0).
 */
export const podLinkHostName = (a: AttachmentId) => hostLinkName(a, 'cx');

/**
 * The links DEL deletes for a pod's child link of `kind`: under its host name, in the host (a killed
 * ADD may have left it there before its move) and in the pod (an ADD whose rename found CNI_IFNAME
 * taken there); and under CNI_IFNAME in the pod, only when it carries the attachment's alias (the
 * pod may hold an interface of that name of another owner).
 */
export const podChildLinks =
  (kind: LinkType) =>
  (a: AttachmentId, netns: string): OwnedLink[] => [
    { name: podLinkHostName(a), type: kind },
    ...(netns
      ? [
          { name: podLinkHostName(a), netns, type: kind },
          { name: a.ifname, netns, type: kind, alias: linkAlias(a) },
        ]
      : []),
  ];

/** The alias written on host-side devices: GC reads it back to know whose device it is. */
export const linkAlias = (a: AttachmentId) => `cni-suite/${a.network}/${a.containerId}/${a.ifname}`;

export function parseLinkAlias(alias: string | undefined): AttachmentId | undefined {
  const m = alias ? /^cni-suite\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(alias) : null;
  return m ? { network: m[1]!, containerId: m[2]!, ifname: m[3]! } : undefined;
}

/**
 * The alias of a network's shared link to one other host (a tunnel), planned with the objects to
 * other hosts: the engine deletes the network's links with such an alias that the plan no longer has.
 */
export const peerLinkAlias = (network: string, nodeIP: string) => `cni-suite-peer/${network}/${nodeIP}`;

/** The network of a peer link's alias, else undefined. */
export const peerLinkNetwork = (alias: string | undefined) =>
  alias ? /^cni-suite-peer\/([^/]+)\/[^/]+$/.exec(alias)?.[1] : undefined;

/** Short stable id of a network for nft chain/set names. */
export const networkTag = (network: string) => `n${shortHash(network).slice(0, 10)}`;

/** Interface group of a network's host-side ports (the bridge family cannot match the bridge's name). */
export const networkGroup = (network: string) =>
  (Number.parseInt(shortHash(network).slice(0, 7), 16) | 1) >>> 0;

/** Name of the attachment's lock (see lib/sys/lock.ts): ADD holds it, DEL and GC wait for it. */
export const attachmentLock = (a: AttachmentId) => `att/${shortHash(a.network, a.containerId, a.ifname)}`;

/**
 * Route metric of a network's shared routes. A kernel route is identified by (table, dst, metric),
 * so routes of two networks never replace or delete each other, even to the same destination; the
 * plugin's route proto says whose they are. 10000–75535 stays clear of the usual small metrics.
 */
export const networkMetric = (network: string) =>
  10_000 + (Number.parseInt(shortHash(network).slice(0, 8), 16) % 65_536);

/** A MAC derived from the attachment (`role` tells its links apart): stable, so plans stay pure. */
export const attachmentMac = (a: AttachmentId, role: string) =>
  localMac(shortHash(a.network, a.containerId, a.ifname, role));

/** A random locally administered unicast MAC (Math.random: uniqueness, not secrecy, is needed). */
export const randomMac = (): string =>
  localMac(Array.from({ length: 12 }, () => Math.floor(Math.random() * 16).toString(16)).join(''));

/** 12 hex digits as a locally administered unicast MAC. */
function localMac(hex: string): string {
  const b = Array.from({ length: 6 }, (_, i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16));
  b[0] = (b[0]! & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
