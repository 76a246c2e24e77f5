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
  const wanted = peers.filter((p) => !opts.localSubnets.includes(p.podCIDR));
  const current = await currentRoutes(opts.proto);
  const proto = String(opts.proto);
  const stale = current.filter((r) => !wanted.some((p) => sameDst(p.podCIDR, r.dst)));
  const missing = wanted.filter(
    (p) => !current.some((r) => sameDst(p.podCIDR, r.dst) && r.gateway === p.nodeIP),
  );
  // Stale routes go first; a route another ADD removed meanwhile is fine.
  for (const r of stale) await ipBatch([['route', 'del', r.dst, 'proto', proto]]).catch(() => undefined);
  if (!missing.length) return [];
  try {
    await ipBatch(missing.map((p) => ['route', 'replace', p.podCIDR, 'via', p.nodeIP, 'proto', proto]));
    return [];
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    return replaceOneByOne(missing, proto);
  }
}

/** After a failed batch, find which peers cannot be routed (their nodeIP is not on-link). */
async function replaceOneByOne(peers: readonly Peer[], proto: string): Promise<Peer[]> {
  const failed: Peer[] = [];
  for (const p of peers) {
    try {
      await ipBatch([['route', 'replace', p.podCIDR, 'via', p.nodeIP, 'proto', proto]]);
    } catch {
      failed.push(p);
    }
  }
  return failed;
}

/** Our routes of both families in one `ip` run ("root" with a family's default prefix picks the family). */
async function currentRoutes(proto: number): Promise<IpRoute[]> {
  const p = String(proto);
  const lists = await ipJsonBatch<IpRoute>([
    ['route', 'show', 'root', '0.0.0.0/0', 'proto', p],
    ['route', 'show', 'root', '::/0', 'proto', p],
  ]);
  return lists.flat();
}

/** `ip -j` prints host routes without a prefix ("10.1.2.3" for /32). */
function sameDst(cidr: string, dst: string): boolean {
  if (dst.includes('/')) return cidr === dst;
  return cidr === `${dst}/${dst.includes(':') ? 128 : 32}`;
}

export const describePeers = (peers: readonly Peer[]) =>
  peers.map((p) => `${p.name} (${p.nodeIP})`).join(', ');
