// Peers are data: [{name, nodeIP, podCIDR}] inline or in a peersFile a control plane may rewrite.
// The routes to them are shared objects of the network, converged by the engine.
import { configError } from '../cni/errors.js';
import { readRegularFile } from '../sys/files.js';
import { isIp, sameDst, subnetProblem } from './ip.js';
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

/** Inline peers plus those of peersFile (read now: a control plane may have rewritten it). */
export function loadPeers(inline: Peer[], peersFile: string | undefined): Peer[] {
  if (!peersFile) return inline;
  let text: string;
  try {
    text = readRegularFile(peersFile);
  } catch (err) {
    throw configError(`peersFile "${peersFile}" cannot be read: ${(err as NodeJS.ErrnoException).code}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw configError(`peersFile "${peersFile}" is not valid JSON`);
  }
  return [...inline, ...parsePeers(raw, `peersFile ${peersFile}`)];
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
