// Peers are data: [{name, nodeIP, podCIDR}] inline or in a peersFile a control plane may rewrite.
// reconcilePeerRoutes makes this host's `podCIDR via nodeIP` routes match the list exactly.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { CniError, ErrorCode } from '../cni/errors.js';
import { isCidr } from '../cni/result.js';
import { type IpRoute, ipBatch, ipJsonBatch } from '../sys/ip.js';
import { CommandError } from '../sys/run.js';

export interface Peer {
  name: string;
  nodeIP: string;
  podCIDR: string;
}

const configError = (msg: string) => new CniError(ErrorCode.InvalidConfig, msg);

/** Validates a peers list; `where` names it in errors ("peers" or the file path). */
export function parsePeers(raw: unknown, where: string): Peer[] {
  if (!Array.isArray(raw)) throw configError(`${where} must be a list of {name, nodeIP, podCIDR}`);
  return raw.map((p, i) => {
    const at = `${where}[${i}]`;
    if (typeof p !== 'object' || p === null)
      throw configError(`${at} must be an object {name, nodeIP, podCIDR}`);
    const { name, nodeIP, podCIDR } = p as Record<string, unknown>;
    if (typeof name !== 'string' || !name) throw configError(`${at}.name must be a non-empty string`);
    if (typeof nodeIP !== 'string' || !isIP(nodeIP))
      throw configError(`${at}.nodeIP must be an IP address, e.g. "192.168.1.12"`);
    if (typeof podCIDR !== 'string' || !isCidr(podCIDR))
      throw configError(`${at}.podCIDR must be a CIDR, e.g. "10.244.2.0/24"`);
    return { name, nodeIP, podCIDR };
  });
}

/** Inline peers plus those of peersFile (read now: a control plane may have rewritten it). */
export function loadPeers(inline: Peer[], peersFile: string | undefined): Peer[] {
  if (!peersFile) return inline;
  let text: string;
  try {
    text = readFileSync(peersFile, 'utf8');
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

export interface RouteReconcile {
  /** Routing protocol number marking our routes (see /etc/iproute2/rt_protos); one per plugin. */
  proto: number;
  /** Pod subnets of this host: peers with these podCIDRs are this host itself and get no route. */
  localSubnets: readonly string[];
}

/** Makes the routes marked `proto` equal the peers' routes; returns the peers whose nodeIP is not on-link. */
export async function reconcilePeerRoutes(peers: readonly Peer[], opts: RouteReconcile): Promise<Peer[]> {
  const current = (await ipJsonBatch<IpRoute>(peerRouteReads(opts.proto))).flat();
  return applyPeerRoutes(planPeerRoutes(peers, current, opts), opts.proto);
}

/** `ip` reads listing our routes of both families ("root" with a family's default prefix picks it). */
export function peerRouteReads(proto: number): string[][] {
  const p = String(proto);
  return [
    ['route', 'show', 'root', '0.0.0.0/0', 'proto', p],
    ['route', 'show', 'root', '::/0', 'proto', p],
  ];
}

export interface PeerRoutePlan {
  stale: IpRoute[];
  missing: Peer[];
}

/** What to change so that `current` (our routes as read) matches `peers`. */
export function planPeerRoutes(
  peers: readonly Peer[],
  current: readonly IpRoute[],
  opts: RouteReconcile,
): PeerRoutePlan {
  const wanted = peers.filter((p) => !opts.localSubnets.includes(p.podCIDR));
  return {
    stale: current.filter((r) => !wanted.some((p) => sameDst(p.podCIDR, r.dst))),
    missing: wanted.filter((p) => !current.some((r) => sameDst(p.podCIDR, r.dst) && r.gateway === p.nodeIP)),
  };
}

/**
 * Applies a plan, together with `alsoRun` (other host commands, so they share the `ip` run);
 * returns the peers that could not be routed (nodeIP not on-link).
 */
export async function applyPeerRoutes(
  plan: PeerRoutePlan,
  proto: number,
  alsoRun: string[][] = [],
): Promise<Peer[]> {
  const p = String(proto);
  // A stale route another ADD removed meanwhile is fine.
  for (const r of plan.stale) await ipBatch([['route', 'del', r.dst, 'proto', p]]).catch(() => undefined);
  const replace = (peer: Peer) => ['route', 'replace', peer.podCIDR, 'via', peer.nodeIP, 'proto', p];
  try {
    await ipBatch([...alsoRun, ...plan.missing.map(replace)]);
    return [];
  } catch (err) {
    if (!(err instanceof CommandError) || !plan.missing.length) throw err;
  }
  // Find which peers cannot be routed; the other commands are idempotent and run again.
  await ipBatch(alsoRun);
  const failed: Peer[] = [];
  for (const peer of plan.missing) await ipBatch([replace(peer)]).catch(() => failed.push(peer));
  return failed;
}

/** `ip -j` prints host routes without a prefix ("10.1.2.3" for /32). */
function sameDst(cidr: string, dst: string): boolean {
  if (dst.includes('/')) return cidr === dst;
  return cidr === `${dst}/${dst.includes(':') ? 128 : 32}`;
}

export const describePeers = (peers: readonly Peer[]) =>
  peers.map((p) => `${p.name} (${p.nodeIP})`).join(', ');
