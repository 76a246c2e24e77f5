// Peers are data: [{name, nodeIP, podCIDR}] inline or in a peersFile a control plane may rewrite.
// The routes to them are shared objects of the network, converged by the engine.

import { isIp, sameDst, subnetProblem } from '../base/ip.js';
import { configError } from '../cni/errors.js';
import type { RouteSpec } from './model.js';

export interface Peer {
  name: string;
  nodeIP: string;
  podCIDR: string;
}

/** Validates a peers list; `where` names it in errors ("peers" or the file path). */
export function parsePeers(raw: unknown, where: string): Peer[] {
  if (!Array.isArray(raw)) throw configError(`${where} must be a list of {name, nodeIP, podCIDR}`);
  return raw.map((p, i) => {
    const at = `${where}[${i}]`;
    if (typeof p !== 'object' || p === null)
      throw configError(`${at} must be an object {name, nodeIP, podCIDR}`);
    const { name, nodeIP, podCIDR } = p as Record<string, unknown>;
    if (typeof name !== 'string' || !name) throw configError(`${at}.name must be a non-empty string`);
    if (typeof nodeIP !== 'string' || !isIp(nodeIP))
      throw configError(`${at}.nodeIP must be an IP address, e.g. "192.168.1.12"`);
    if (typeof podCIDR !== 'string') throw configError(`${at}.podCIDR must be a CIDR, e.g. "10.244.2.0/24"`);
    const problem = subnetProblem(podCIDR);
    if (problem) throw configError(`${at}.podCIDR "${podCIDR}" ${problem}`);
    return { name, nodeIP, podCIDR };
  });
}

/** Where the peers come from: the inline list (validated with the config) and the peersFile's text. */
export interface PeerSource {
  inline: Peer[];
  file: string | undefined;
  text: string | undefined;
  /** The file's JSON, parsed when read: a file that is not JSON fails ADD before IPAM runs. */
  json?: unknown;
  /**
   * The file does not exist yet (a node whose agent has not written it): the other hosts are
   * unknown, not gone, so nothing to them is planned, compared or pruned.
   */
  missing?: boolean;
}

/**
 * Inline peers plus the file's. `trusted`: the text is byte for byte one that was validated and
 * applied before (see engine/scope.ts), so checking its 1000 entries again is skipped.
 */
export function parsePeerSource(src: PeerSource, trusted = false): Peer[] {
  if (src.text === undefined) return src.inline;
  let raw = src.json;
  try {
    raw ??= JSON.parse(src.text);
  } catch {
    throw configError(`peersFile "${src.file}" is not valid JSON`);
  }
  const where = `peersFile ${src.file}`;
  return [...src.inline, ...(trusted ? (raw as Peer[]) : parsePeers(raw, where))];
}

/** The other hosts: peers whose podCIDR is not one of this host's. */
export const remotePeers = (peers: readonly Peer[], localSubnets: readonly string[]) =>
  peers.filter((p) => !localSubnets.some((s) => sameDst(s, p.podCIDR)));

/** `podCIDR via nodeIP` to every other host: the routing of bridge-route and ipvlan-l3. */
export const directPeerRoutes = (peers: readonly Peer[], localSubnets: readonly string[]): RouteSpec[] =>
  remotePeers(peers, localSubnets).map((p) => ({
    kind: 'route',
    dst: p.podCIDR,
    via: p.nodeIP,
    peer: p.name,
  }));

export const describePeers = (peers: readonly Peer[]) =>
  peers.map((p) => `${p.name} (${p.nodeIP})`).join(', ');
