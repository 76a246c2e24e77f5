// Whether an ADD plans and converges the objects to other hosts (routes, neighbours, FDB entries),
// which grow with the peers. When the inputs deciding them (the plugin's config, the peersFile's
// text, the uplink, the owner) are those this host last converged (a digest per network and netns),
// ADD skips them: it neither validates the peers again nor plans, reads or writes their objects,
// so its cost stays flat as peers grow. Any change of peers or config changes the digest, and that
// ADD converges everything; GC and CHECK always do.
import type { Difference } from '../plan/diff.js';
import type { HostObject } from '../plan/model.js';
import { type Peer, type PeerSource, parsePeerSource } from '../plan/peers.js';
import type { RouteOwner } from '../plan/state.js';
import type { Host } from './seam.js';

export interface PeersScope {
  peers: Peer[];
  /** The objects to other hosts are planned and converged in this call. */
  remote: boolean;
  /** undefined: routes are out of scope (none read, none pruned). */
  owner: RouteOwner | undefined;
  /** The shared objects to converge: without `remote`, no link prunes the entries on it. */
  select(shared: readonly HostObject[]): HostObject[];
  /** Records the digest once everything converged. */
  converged(failed: readonly Difference[]): void;
}

export function peersScope(
  host: Host,
  network: string,
  src: PeerSource,
  inputs: unknown,
  owner: RouteOwner,
): PeersScope {
  const applied = host.stamp(network, 'peers');
  const content = scopeContent(src, inputs, owner);
  // Without the peers file the other hosts are unknown: nothing to them is planned or pruned.
  if (src.missing || applied.matches(content))
    return {
      peers: parsePeerSource(src, true),
      remote: false,
      owner: undefined,
      select: (objs) =>
        objs.map((o) => (o.kind === 'link' && o.ownsEntries ? { ...o, ownsEntries: false } : o)),
      converged: () => {},
    };
  return {
    peers: parsePeerSource(src),
    remote: true,
    owner,
    select: (objs) => [...objs],
    converged: (failed) => {
      if (!failed.length) applied.record(content);
    },
  };
}

/** GC converged everything for these inputs: the next ADD may skip the objects to other hosts. */
export function recordConverged(
  host: Host,
  network: string,
  src: PeerSource,
  inputs: unknown,
  owner: RouteOwner,
): void {
  host.stamp(network, 'peers').record(scopeContent(src, inputs, owner));
}

const scopeContent = (src: PeerSource, inputs: unknown, owner: RouteOwner) =>
  JSON.stringify([inputs, src.text ?? null, owner]);
