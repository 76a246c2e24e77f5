// Which shared objects an ADD converges. The objects to other hosts (routes, neighbours, FDB
// entries) grow with the peers; when they are what this host last applied (a digest per network
// and netns), ADD reads and converges only the local ones (bridge, devices, addresses, sysctls), so
// its cost stays flat as peers grow. GC always converges everything and records the digest; a
// change of peers or config changes the digest, and the next ADD converges everything.
import type { Difference } from '../diff.js';
import type { HostObject } from '../model.js';
import { stamp } from '../stamp.js';
import type { RouteOwner } from '../state.js';

export interface SharedScope {
  /** The objects of `shared` in scope (a plan made later, with IPAM's answer, goes through it too). */
  select(shared: readonly HostObject[]): HostObject[];
  /** undefined: routes are out of scope (none read, none pruned). */
  owner: RouteOwner | undefined;
  /** Records the digest once everything converged (nothing to record for a local-only scope). */
  converged(failed: readonly Difference[]): void;
}

const isRemote = (o: HostObject) => o.kind === 'route' || o.kind === 'neigh' || o.kind === 'fdb';

export function sharedScope(
  network: string,
  shared: readonly HostObject[],
  owner: RouteOwner,
  always = false,
): SharedScope {
  const applied = stamp(network, 'peers');
  // What decides the remote objects: themselves, who owns them, and the links owning entries.
  const owned = shared
    .filter((o) => o.kind === 'link' && o.ownsEntries)
    .map((o) => o.kind === 'link' && o.name);
  const content = JSON.stringify([owner, owned, shared.filter(isRemote)]);
  if (!always && applied.matches(content)) {
    // Without the remote objects in scope, a link must not prune the entries on it.
    const select = (objs: readonly HostObject[]) =>
      objs.filter((o) => !isRemote(o)).map((o) => (o.kind === 'link' ? { ...o, ownsEntries: false } : o));
    return { select, owner: undefined, converged: () => {} };
  }
  return {
    select: (objs) => [...objs],
    owner,
    converged: (failed) => {
      if (!failed.length) applied.record(content);
    },
  };
}
