// What exists: the reads a set of desired objects needs, and the snapshot they parse into. `ip`
// reads run in one `ip -j -d -batch`, FDB reads in one `bridge -j -batch`, sysctls come from
// /proc/sys. A read of a missing device fails the batch at its line, which is how the engine
// learns that a shared link does not exist yet.
import type { HostObject } from './model.js';

export interface Snapshot {
  links: Map<string, IpLink>;
  /** Addresses per device, as "addr/prefix". */
  addrs: Map<string, string[]>;
  /** The routes marked with the owner's proto and metric. */
  routes: IpRoute[];
  neighs: Map<string, IpNeigh[]>;
  fdb: Map<string, IpFdb[]>;
  /** Current values of the sysctls the plan names (read from /proc/sys, not through ip). */
  sysctls: Map<string, string>;
}

export const emptySnapshot = (): Snapshot => ({
  links: new Map(),
  addrs: new Map(),
  routes: [],
  neighs: new Map(),
  fdb: new Map(),
  sysctls: new Map(),
});

/** Who owns shared routes: the plugin's proto and the network's metric; and the network's peer
 *  links (see peerLinkAlias). */
export interface RouteOwner {
  proto: number;
  metric: number;
  network: string;
}

/** One read; `fdb` reads are `bridge` commands, the others `ip` commands. */
export type Read = { what: 'links' | 'addr' | 'route' | 'neigh' | 'fdb'; argv: string[] };

/**
 * The reads covering `objects`: each link with its addresses (`ip -d addr show` prints the link's
 * details too; addresses planned later, once IPAM answered, are known as well), the devices
 * holding addresses, neighbours or FDB entries (all of them on a link that owns its entries), our
 * routes; with an owner, every link (first, so the targeted reads win), to find stale peer links.
 */
export function readsFor(objects: readonly HostObject[], owner: RouteOwner | undefined): Read[] {
  const reads: Read[] = [];
  const seen = new Set<string>();
  const add = (what: Read['what'], argv: string[]) => {
    const key = `${what} ${argv.join(' ')}`;
    if (!seen.has(key)) reads.push({ what, argv });
    seen.add(key);
  };
  if (owner) add('links', ['link', 'show']);
  for (const o of objects) {
    if (o.kind === 'link') add('addr', ['addr', 'show', 'dev', o.name]);
    if (o.kind === 'addr') add('addr', ['addr', 'show', 'dev', o.dev]);
    if (o.kind === 'neigh' || (o.kind === 'link' && o.ownsEntries))
      add('neigh', ['neigh', 'show', 'dev', o.kind === 'link' ? o.name : o.dev]);
    if (o.kind === 'fdb' || (o.kind === 'link' && o.ownsEntries))
      add('fdb', ['fdb', 'show', 'dev', o.kind === 'link' ? o.name : o.dev]);
  }
  // With an owner: its routes, even with none wanted, so that routes left over from an older plan
  // are pruned. Without one (inside a pod): every main-table route, when routes are wanted.
  const proto = owner ? ['proto', String(owner.proto)] : [];
  if (owner || objects.some((o) => o.kind === 'route'))
    for (const root of ['0.0.0.0/0', '::/0']) add('route', ['route', 'show', 'root', root, ...proto]);
  return reads;
}

/** Parses the answers of `reads` (one JSON list each, in order) into a snapshot. */
export function parseSnapshot(
  reads: readonly Read[],
  answers: readonly unknown[][],
  owner?: RouteOwner,
): Snapshot {
  const snap = emptySnapshot();
  reads.forEach((r, i) => {
    const answer = answers[i] ?? [];
    switch (r.what) {
      case 'links':
        for (const l of answer as IpLink[]) snap.links.set(l.ifname, l);
        break;
      case 'addr':
        for (const l of answer as (IpLink & Partial<IpAddrInfo>)[]) {
          snap.links.set(l.ifname, l);
          // A device without addresses has no addr_info at all in batch mode.
          snap.addrs.set(
            l.ifname,
            (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
          );
        }
        break;
      case 'route':
        snap.routes.push(...(answer as IpRoute[]).filter((x) => !owner || (x.metric ?? 0) === owner.metric));
        break;
      case 'neigh':
        snap.neighs.set(r.argv[3] ?? '', answer as IpNeigh[]);
        break;
      case 'fdb':
        snap.fdb.set(r.argv[3] ?? '', answer as IpFdb[]);
        break;
    }
  });
  return snap;
}

// The shapes of iproute2's JSON (`ip -j -d`, `bridge -j`) that the snapshot is read from.

/** Link as read by `ip -j -d link show`. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address?: string;
  master?: string;
  operstate?: string;
  flags?: string[];
  ifalias?: string;
  promiscuity?: number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_data?: Record<string, unknown> };
}

export interface IpAddrInfo {
  ifname: string;
  addr_info: { family: 'inet' | 'inet6'; local: string; prefixlen: number; scope?: string }[];
}

export interface IpNeigh {
  dst: string;
  lladdr?: string;
  state?: string[];
}

/** An FDB entry as read by `bridge -j fdb show`. */
export interface IpFdb {
  mac: string;
  dst?: string;
  state?: string;
  flags?: string[];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  flags?: string[];
  metric?: number;
}
