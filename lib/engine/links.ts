// An attachment's links, deleted where they are provably its own (DEL, a failed ADD's undo).
import type { OwnedLink } from '../plan/model.js';
import type { IpLink } from '../plan/state.js';
import { ipJsonIfExists, ipLinkDelete } from '../sys/ip.js';
import { hasOwnLink } from '../sys/netns.js';

/**
 * Deletes links by name where they are ours (see OwnedLink); one already gone, or in a netns already
 * gone, is success. True if any of them was there. A link with nothing to prove is deleted by name
 * (one `ip` run, none when /proc shows it absent); the others of a netns are read first, in one run.
 */
export async function deleteLinks(links: readonly OwnedLink[]): Promise<boolean> {
  let found = false;
  for (const l of links.filter((l) => !l.type && !l.alias))
    if (await ipLinkDelete(l.name, { netns: l.netns })) found = true;
  const proven = links.filter((l) => l.type || l.alias);
  for (const netns of new Set(proven.map((l) => l.netns))) {
    const wanted = proven.filter((l) => l.netns === netns && (netns || hasOwnLink(l.name) !== false));
    if (!wanted.length) continue;
    const there = await ipJsonIfExists<IpLink>(['-d', 'link', 'show'], { netns });
    const ours = wanted.filter((l) => there.some((have) => isOwned(l, have)));
    for (const l of ours) if (await ipLinkDelete(l.name, { netns })) found = true;
  }
  return found;
}

const isOwned = (l: OwnedLink, have: IpLink) =>
  have.ifname === l.name &&
  (!l.type || have.linkinfo?.info_kind === l.type) &&
  (!l.alias || have.ifalias === l.alias);
