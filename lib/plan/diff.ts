// The pure heart of the engine: desired objects against a snapshot of what exists, as a list of
// differences, each naming the object, what is wrong, and the commands that fix it. ADD and GC
// write the fixes; CHECK reports the first difference.

import { sameDst } from '../base/ip.js';
import { peerLinkNetwork } from './attachment.js';
import {
  addrCommand,
  createLinkCommands,
  fdbCommand,
  neighCommand,
  routeCommand,
  setLinkCommands,
} from './commands.js';
import type { FdbSpec, HostObject, LinkSpec, NeighSpec, RouteSpec } from './model.js';
import type { RouteOwner, Snapshot } from './state.js';

export type Fix = { ip: string[] } | { bridge: string[] } | { sysctl: [key: string, value: string] };

export interface Difference {
  object: string;
  problem: string;
  fixes: Fix[];
  /** Writing cannot fix it (a device of another kind holds the name): a config error. */
  conflict?: boolean;
  /** Set on a peer route: its failure is the peer's (not on-link), not the call's. */
  peer?: string;
}

export interface DiffOptions {
  /** MAC for a shared link created without a fixed one (randomness stays out of plans). */
  newMac?: () => string;
}

const ipFixes = (cmds: string[][]): Fix[] => cmds.map((ip) => ({ ip }));

export function diff(
  desired: readonly HostObject[],
  snap: Snapshot,
  owner: RouteOwner | undefined,
  opts: DiffOptions = {},
): Difference[] {
  const out: Difference[] = [];
  for (const o of desired) {
    switch (o.kind) {
      case 'link':
        out.push(...diffLink(o, snap, opts));
        break;
      case 'addr':
        if (!snap.addrs.get(o.dev)?.includes(o.cidr))
          out.push({
            object: `address ${o.cidr} on ${o.dev}`,
            problem: 'is missing',
            fixes: ipFixes([addrCommand(o)]),
          });
        break;
      case 'route': {
        // An owned route carries the owner's marks: that is how it is found again, and pruned.
        const want = owner ? { ...o, proto: owner.proto, metric: owner.metric } : o;
        if (!snap.routes.some((r) => routeMatches(want, r)))
          out.push({
            object: describeRoute(want),
            problem: 'is missing',
            fixes: ipFixes([routeCommand('replace', want)]),
            peer: want.peer,
          });
        break;
      }

      case 'neigh': {
        const have = snap.neighs.get(o.dev)?.find((n) => n.dst === o.ip);
        if (have?.lladdr !== o.lladdr)
          out.push({
            object: `neighbour ${o.ip} on ${o.dev}`,
            problem: have ? `has lladdr ${have.lladdr}, want ${o.lladdr}` : 'is missing',
            fixes: ipFixes([neighCommand(o)]),
          });
        break;
      }
      case 'fdb':
        if (!snap.fdb.get(o.dev)?.some((e) => e.mac === o.mac && e.dst === o.dst))
          out.push({
            object: `FDB entry ${o.mac} dst ${o.dst} on ${o.dev}`,
            problem: 'is missing',
            fixes: [{ bridge: fdbCommand(o) }],
          });
        break;
      case 'sysctl':
        if (snap.sysctls.get(o.key) !== o.value)
          out.push({
            object: `sysctl ${o.key}`,
            problem: `is not ${o.value}`,
            fixes: [{ sysctl: [o.key, o.value] }],
          });
        break;
    }
  }
  if (owner) {
    const gone = stalePeerLinks(desired, snap, owner.network);
    out.push(...gone, ...staleRoutes(desired, snap, owner, new Set(gone.map((d) => d.dev))));
  }
  for (const o of desired)
    if (o.kind === 'link' && o.ownsEntries) out.push(...staleEntries(o.name, desired, snap));
  return out;
}

/** Permanent neighbours and FDB entries on a link that owns its entries, which the plan no longer has. */
function staleEntries(dev: string, desired: readonly HostObject[], snap: Snapshot): Difference[] {
  const neighs = desired.filter((o): o is NeighSpec => o.kind === 'neigh' && o.dev === dev);
  const fdb = desired.filter((o): o is FdbSpec => o.kind === 'fdb' && o.dev === dev);
  const out: Difference[] = [];
  for (const n of snap.neighs.get(dev) ?? []) {
    if (!n.state?.includes('PERMANENT') || neighs.some((w) => w.ip === n.dst)) continue;
    out.push({
      object: `neighbour ${n.dst} on ${dev}`,
      problem: 'is stale (not in the plan)',
      fixes: ipFixes([['neigh', 'del', n.dst, 'dev', dev]]),
    });
  }
  for (const e of snap.fdb.get(dev) ?? []) {
    if (e.state !== 'permanent' || !e.dst || fdb.some((w) => w.mac === e.mac && w.dst === e.dst)) continue;
    out.push({
      object: `FDB entry ${e.mac} dst ${e.dst} on ${dev}`,
      problem: 'is stale (not in the plan)',
      fixes: [{ bridge: fdbCommand({ kind: 'fdb', dev, mac: e.mac, dst: e.dst }, 'del') }],
    });
  }
  return out;
}

function diffLink(l: LinkSpec, snap: Snapshot, opts: DiffOptions): Difference[] {
  const object = `${l.type} ${l.name}`;
  const have = snap.links.get(l.name);
  if (!have) {
    const spec = l.mac || !opts.newMac ? l : { ...l, mac: opts.newMac() };
    return [{ object, problem: 'is missing', fixes: ipFixes(createLinkCommands(spec)) }];
  }
  const kind = have.linkinfo?.info_kind;
  if (kind !== l.type)
    return [
      {
        object,
        problem: `exists and is ${kind ? `a ${kind}` : 'a device of another kind'}`,
        fixes: [],
        conflict: true,
      },
    ];
  const info = have.linkinfo?.info_data ?? {};
  const other = Object.entries(l.data ?? {}).find(([k, v]) => info[k] !== v);
  if (other)
    return [
      {
        object,
        problem: `exists with ${other[0]} ${String(info[other[0]])}, not ${String(other[1])}`,
        fixes: [],
        conflict: true,
      },
    ];
  const problems: string[] = [];
  if (!have.flags?.includes('UP')) problems.push('is down');
  if (l.master && have.master !== l.master) problems.push(`is not a port of ${l.master}`);
  if (l.promisc && !have.promiscuity) problems.push('is not in promiscuous mode');
  if (!problems.length) return [];
  return [{ object, problem: problems.join(', '), fixes: ipFixes(setLinkCommands(l)) }];
}

/** A route as read matches the desired one (same destination, gateway and device). */
function routeMatches(want: RouteSpec, have: { dst: string; gateway?: string; dev?: string }): boolean {
  return (
    sameDst(want.dst, have.dst) &&
    (want.via ?? undefined) === have.gateway &&
    (!want.dev || want.dev === have.dev)
  );
}

/** The network's links to other hosts (by their alias) that the plan no longer has. */
function stalePeerLinks(
  desired: readonly HostObject[],
  snap: Snapshot,
  network: string,
): (Difference & { dev: string })[] {
  const wanted = new Set(desired.flatMap((o) => (o.kind === 'link' ? [o.name] : [])));
  return [...snap.links.values()]
    .filter((l) => peerLinkNetwork(l.ifalias) === network && !wanted.has(l.ifname))
    .map((l) => ({
      object: `${l.linkinfo?.info_kind ?? 'link'} ${l.ifname} (${l.ifalias})`,
      problem: 'is stale (its peer is not in the plan)',
      fixes: ipFixes([['link', 'del', 'dev', l.ifname]]),
      dev: l.ifname,
    }));
}

/** Routes carrying the owner's proto and metric that the plan no longer has (but not those on a
 *  link being deleted: the kernel removes them with it). */
function staleRoutes(
  desired: readonly HostObject[],
  snap: Snapshot,
  owner: RouteOwner,
  deletedLinks: ReadonlySet<string>,
): Difference[] {
  const wanted = desired.filter((o): o is RouteSpec => o.kind === 'route');
  return snap.routes
    .filter((r) => !wanted.some((w) => sameDst(w.dst, r.dst)) && !deletedLinks.has(r.dev ?? ''))
    .map((r) => {
      const stale: RouteSpec = { kind: 'route', dst: r.dst, proto: owner.proto, metric: owner.metric };
      return {
        object: describeRoute({ ...stale, via: r.gateway }),
        problem: 'is stale (not in the plan)',
        fixes: ipFixes([routeCommand('del', stale)]),
      };
    });
}

export const describeRoute = (r: RouteSpec) => `route ${r.dst}${r.via ? ` via ${r.via}` : ''}`;
