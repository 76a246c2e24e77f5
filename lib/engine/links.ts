// An attachment's links, deleted where they are provably its own (DEL, a failed ADD's undo).
import type { OwnedLink } from '../plan/model.js';
import type { IpLink } from '../plan/state.js';
import type { Host } from './seam.js';

/**
 * Deletes links by name where they are ours (see OwnedLink); one already gone, or in a netns already
 * gone, is success. True if any of them was there. A link with nothing to prove is deleted by name
 * (one `ip` run, none when the host shows it absent); the others of a netns are read first, in one run.
 */
export async function deleteLinks(host: Host, links: readonly OwnedLink[]): Promise<boolean> {
  let found = false;
  const absent = (l: OwnedLink) => !l.netns && host.hasLink(l.name) === false;
  for (const l of links.filter((l) => !l.type && !l.alias))
    if (!absent(l) && (await host.deleteLink(l.name, l.netns))) found = true;
  const proven = links.filter((l) => (l.type || l.alias) && !absent(l));
  for (const netns of new Set(proven.map((l) => l.netns))) {
    const there = (await host.read(['link', 'show'], { netns, details: true })) as IpLink[];
    const ours = proven.filter((l) => l.netns === netns && there.some((have) => isOwned(l, have)));
    for (const l of ours) if (await host.deleteLink(l.name, netns)) found = true;
  }
  return found;
}

const isOwned = (l: OwnedLink, have: IpLink) =>
  have.ifname === l.name &&
  (!l.type || have.linkinfo?.info_kind === l.type) &&
  (!l.alias || have.ifalias === l.alias);
