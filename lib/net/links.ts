// ip commands for per-pod links (veth pair, container addresses and routes), returned as batch
// lines so a plugin runs all host-side and all container-side changes in one process each.
import type { IpConfig, Route } from '../cni/result.js';
import { ipFamily } from '../cni/result.js';
import { ip, isNotFound } from '../sys/ip.js';

export interface VethSpec {
  hostName: string;
  hostMac: string;
  peerName: string;
  peerMac: string;
  /** Path of the container netns the peer is created in. */
  netns: string;
  mtu: number;
  alias: string;
  /** Interface group of the host end (see networkGroup). */
  group: number;
}

/** Creates the pair with the peer directly inside the container, and brings the host end up. */
export function vethCommands(v: VethSpec): string[][] {
  return [
    [
      'link',
      'add',
      v.hostName,
      'address',
      v.hostMac,
      'mtu',
      String(v.mtu),
      'type',
      'veth',
      'peer',
      'name',
      v.peerName,
      'address',
      v.peerMac,
      'mtu',
      String(v.mtu),
      'netns',
      v.netns,
    ],
    ['link', 'set', 'dev', v.hostName, 'alias', v.alias, 'group', String(v.group)],
  ];
}

/** Addresses and routes inside the container; IPv6 addresses skip DAD so they work at once. */
export function containerCommands(
  ifname: string,
  ips: readonly IpConfig[],
  routes: readonly Route[],
): string[][] {
  const cmds: string[][] = [];
  for (const a of ips)
    cmds.push(['addr', 'add', a.address, 'dev', ifname, ...(ipFamily(a.address) === 6 ? ['nodad'] : [])]);
  cmds.push(['link', 'set', 'dev', ifname, 'up']);
  for (const r of routes) cmds.push(routeCommand('add', r, ifname));
  return cmds;
}

export function routeCommand(verb: 'add' | 'replace' | 'del', r: Route, dev?: string): string[] {
  const cmd = ['route', verb, r.dst];
  if (r.gw) cmd.push('via', r.gw);
  if (dev) cmd.push('dev', dev);
  if (r.mtu) cmd.push('mtu', String(r.mtu));
  if (r.advmss) cmd.push('advmss', String(r.advmss));
  if (r.priority !== undefined) cmd.push('metric', String(r.priority));
  if (r.table !== undefined) cmd.push('table', String(r.table));
  if (r.scope !== undefined) cmd.push('scope', String(r.scope));
  return cmd;
}

/** Deletes a link; a link that is already gone is success. */
export async function deleteLink(name: string, netns?: string): Promise<boolean> {
  try {
    await ip(['link', 'del', 'dev', name], { netns });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
