// Claiming this host's subnet. Each candidate is taken by one etcd transaction (create only if
// absent, or rebind only if the value is still ours), so no two hosts ever hold the same subnet
// however many start at once. The subnet is remembered on local disk, and a restarted agent asks
// for that one first.
import type { Lease } from 'etcd3';
import { cidrContains, formatIp, parseCidr, subnetProblem } from '../base/ip.js';
import { readRegularFile, writeFileAtomic } from '../sys/files.js';
import { type ClusterNetwork, type NodeRecord, subnetAt, subnetCount, subnetKey } from './network.js';
import { type Client, claimFree, claimOwn, type Listing, listClaims } from './store.js';

export class ExhaustedError extends Error {}

/** What the agent remembers of its claim across restarts: `<dataDir>/<network>.json`. */
export const stateFile = (dataDir: string, network: string) => `${dataDir}/${network}.json`;

export function readRemembered(path: string): string | undefined {
  try {
    const s = JSON.parse(readRegularFile(path)) as { podCIDR?: unknown };
    return typeof s.podCIDR === 'string' ? s.podCIDR : undefined;
  } catch {
    return undefined; // none yet, or unreadable: claim afresh
  }
}

export const remember = (path: string, podCIDR: string) =>
  writeFileAtomic(path, `${JSON.stringify({ podCIDR })}\n`);

export interface ClaimInput {
  client: Client;
  prefix: string;
  net: ClusterNetwork;
  name: string;
  nodeIP: string;
  lease: Lease;
  /** The subnet this host held last (from disk), tried first. */
  remembered: string | undefined;
}

/** Claims a subnet for this host and returns its record; ExhaustedError when none is free. */
export async function claimSubnet(input: ClaimInput): Promise<NodeRecord> {
  const { client, prefix, net, name, nodeIP, lease } = input;
  const listing = await listClaims(client, prefix);
  for (const podCIDR of candidates(input, listing)) {
    const record = { name, nodeIP, podCIDR };
    const held = listing.claims.get(subnetKey(prefix, podCIDR));
    if (held && held.record?.name !== name) continue;
    const won = held
      ? await claimOwn(client, held, record, lease)
      : await claimFree(client, subnetKey(prefix, podCIDR), record, lease);
    if (won) return record;
  }
  throw new ExhaustedError(
    `clusterCIDR ${net.clusterCIDR} is exhausted: all ${subnetCount(net)} subnets of /${net.subnetLen} are held by other hosts`,
  );
}

/**
 * The subnets to try, in order: the remembered one, any the listing shows as ours (an agent
 * restarted without its disk), then every subnet from a random start, so hosts starting together
 * seldom reach for the same one.
 */
function* candidates(input: ClaimInput, listing: Listing): Generator<string> {
  const seen = new Set<string>();
  const own = [...listing.claims.values()].flatMap((c) =>
    c.record?.name === input.name ? [c.record.podCIDR] : [],
  );
  for (const s of [input.remembered, ...own])
    if (s && !seen.has(s) && inCluster(input, s)) {
      seen.add(s);
      yield s;
    }
  const count = subnetCount(input.net);
  const start = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const s = subnetAt(input.net, (start + i) % count);
    if (!seen.has(s)) yield s;
  }
}

/** Is `subnet` one of the clusterCIDR's subnets (a changed config may have moved them)? */
function inCluster(input: ClaimInput, subnet: string): boolean {
  const c = parseCidr(subnet);
  return (
    !!c &&
    c.prefix === input.net.subnetLen &&
    !subnetProblem(subnet) &&
    cidrContains(input.net.clusterCIDR, formatIp(c.ip))
  );
}
