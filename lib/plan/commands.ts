// Desired objects as `ip` (and, for FDB entries, `bridge`) command lines, argv without the program,
// for batches.
import { ipFamily } from '../base/ip.js';
import type { AddrSpec, FdbSpec, LinkSpec, NeighSpec, PodObject, RouteSpec } from './model.js';

const opt = (cond: unknown, ...args: string[]) => (cond ? args : []);
const num = (flag: string, v: number | undefined) => (v === undefined ? [] : [flag, String(v)]);

/**
 * Creates a link (a veth's peer directly inside its netns) and sets it up as a port or device. A
 * link for a pod (`netns`) is made in the host under its `hostName`, then moved into the pod and
 * renamed in one step: its pod name (eth0) may be taken in the host, where the kernel looks it up.
 */
export function createLinkCommands(l: LinkSpec): string[][] {
  const add = [
    'link',
    'add',
    ...opt(l.parent, 'link', l.parent ?? ''),
    // With its keyword: a bare name such as "brd" or "type" would be read as one.
    'name',
    l.netns && l.hostName ? l.hostName : l.name,
    ...opt(l.mac, 'address', l.mac ?? ''),
    ...num('mtu', l.mtu),
    ...opt(l.netns && !l.hostName, 'netns', l.netns ?? ''),
    'type',
    l.type,
    ...(l.attrs ?? []),
  ];
  if (l.peer) {
    const p = l.peer;
    add.push('peer', 'name', p.name, ...opt(p.mac, 'address', p.mac ?? ''), ...num('mtu', p.mtu));
    add.push('netns', p.netns);
  }
  // A link made for a pod is set up there, by the plan's pod objects. Its alias goes on before the
  // move (the kernel ignores one given to `link add`): whoever finds it under CNI_IFNAME knows it ours.
  if (l.netns && l.hostName)
    return [
      add,
      ...(l.alias ? [['link', 'set', 'dev', l.hostName, 'alias', l.alias]] : []),
      ['link', 'set', 'dev', l.hostName, 'netns', l.netns, 'name', l.name],
    ];
  return l.netns ? [add] : [add, ...setLinkCommands(l)];
}

/** Brings an existing link to the spec: alias, group, master, port options, promisc, up. */
export function setLinkCommands(l: LinkSpec): string[][] {
  const set = [
    'link',
    'set',
    'dev',
    l.name,
    ...opt(l.alias, 'alias', l.alias ?? ''),
    ...num('group', l.group),
  ];
  set.push(...opt(l.master, 'master', l.master ?? ''), ...opt(l.promisc, 'promisc', 'on'), 'up');
  const cmds = [set];
  if (l.master && (l.hairpin || l.isolated)) {
    cmds.push(['link', 'set', 'dev', l.name, 'type', 'bridge_slave', ...portOptions(l)]);
  }
  return cmds;
}

const portOptions = (l: LinkSpec) => [
  ...opt(l.hairpin, 'hairpin', 'on'),
  ...opt(l.isolated, 'isolated', 'on'),
];

/** IPv6 addresses skip DAD so they work at once (the gateway and pods are unique by IPAM). */
export const addrCommand = (a: AddrSpec): string[] => [
  'addr',
  'replace',
  a.cidr,
  'dev',
  a.dev,
  ...opt(ipFamily(a.cidr) === 6, 'nodad'),
];

export function routeCommand(verb: 'replace' | 'del', r: RouteSpec): string[] {
  return [
    'route',
    verb,
    r.dst,
    ...opt(r.via, 'via', r.via ?? ''),
    ...opt(r.dev, 'dev', r.dev ?? ''),
    ...opt(r.onlink, 'onlink'),
    ...num('proto', r.proto),
    ...num('metric', r.metric),
    ...num('table', r.table),
    ...num('mtu', r.mtu),
    ...num('advmss', r.advmss),
    ...num('scope', r.scope),
  ];
}

export const neighCommand = (n: NeighSpec): string[] => [
  'neigh',
  'replace',
  n.ip,
  'lladdr',
  n.lladdr,
  'dev',
  n.dev,
  'nud',
  'permanent',
];

/** A `bridge fdb` line; flood entries are appended (a device has one per peer), others replaced. */
export const fdbCommand = (f: FdbSpec, verb: 'set' | 'del' = 'set'): string[] => [
  'fdb',
  verb === 'del' ? 'del' : f.mac === FLOOD_MAC ? 'append' : 'replace',
  f.mac,
  'dev',
  f.dev,
  'dst',
  f.dst,
  'self',
  ...(verb === 'del' ? [] : ['permanent']),
];

export const FLOOD_MAC = '00:00:00:00:00:00';

/** Inside the pod, where its links already exist: bring them to the spec, then addresses and routes, in plan order. */
/** The pod's `ip` lines; its sysctls are written apart (see lib/sys/sysctl.ts). */
export const podCommands = (objects: readonly PodObject[]): string[][] => objects.flatMap(podObjectCommands);

function podObjectCommands(o: PodObject): string[][] {
  switch (o.kind) {
    case 'link':
      return setLinkCommands(o);
    case 'addr':
      return [addrCommand(o)];
    case 'route':
      return [routeCommand('replace', o)];
    case 'neigh':
      return [neighCommand(o)];
    case 'sysctl':
      return [];
  }
}
