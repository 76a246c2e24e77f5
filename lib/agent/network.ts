// The cluster-wide network config the agents share (at <prefix>/config in etcd), and the pure steps
// built on it: the subnets a host may claim, the node records under <prefix>/subnets/, the peers
// they make and the conflist a host's runtime reads. No I/O here.

import { formatCidr, isIp, parseCidr, subnetProblem } from '../base/ip.js';
import type { Peer } from '../plan/peers.js';

/** The plugins whose config takes `peers`: what an agent can run. */
export const AGENT_PLUGINS = ['bridge-route', 'vxlan', 'gre', 'ipvlan-l3'] as const;

export interface ClusterNetwork {
  /** IPv4 CIDR the hosts' pod subnets are cut from. */
  clusterCIDR: string;
  /** Prefix length of each host's pod subnet (default 24). */
  subnetLen: number;
  /** The main plugin: `type` and its options (everything but clusterCIDR, peersFile and ipam). */
  plugin: { type: string } & Record<string, unknown>;
  /** Chain portmap after it (default true). */
  portmap: boolean;
}

/** A host's record, the value under its subnet key. */
export type NodeRecord = Peer;

export class NetworkError extends Error {}

const MAX_SUBNET_LEN = 30; // a /31 or /32 leaves host-local no address to give

/** Validates the network config (from `agent init` or etcd); errors name the field. */
export function parseClusterNetwork(raw: unknown, where = 'network config'): ClusterNetwork {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new NetworkError(`${where} must be a JSON object {clusterCIDR, subnetLen, plugin}`);
  const r = raw as Record<string, unknown>;
  const known = new Set(['clusterCIDR', 'subnetLen', 'plugin', 'portmap']);
  for (const k of Object.keys(r))
    if (!known.has(k))
      throw new NetworkError(`${where}: unknown key "${k}" (known: ${[...known].join(', ')})`);
  if (typeof r.clusterCIDR !== 'string')
    throw new NetworkError(`${where}: clusterCIDR must be an IPv4 CIDR, e.g. "10.244.0.0/16"`);
  const cidr = parseCidr(r.clusterCIDR);
  const problem = subnetProblem(r.clusterCIDR);
  if (!cidr || problem) throw new NetworkError(`${where}: clusterCIDR "${r.clusterCIDR}" ${problem}`);
  if (cidr.ip.family !== 4) throw new NetworkError(`${where}: clusterCIDR "${r.clusterCIDR}" must be IPv4`);
  const subnetLen = r.subnetLen ?? 24;
  if (typeof subnetLen !== 'number' || !Number.isInteger(subnetLen) || subnetLen > MAX_SUBNET_LEN)
    throw new NetworkError(`${where}: subnetLen must be an integer of at most ${MAX_SUBNET_LEN}, e.g. 24`);
  if (subnetLen < cidr.prefix)
    throw new NetworkError(
      `${where}: subnetLen ${subnetLen} is shorter than clusterCIDR ${r.clusterCIDR}'s /${cidr.prefix}: a host's subnet must fit inside it`,
    );
  return {
    clusterCIDR: r.clusterCIDR,
    subnetLen,
    plugin: parsePluginSection(r.plugin, `${where}: plugin`),
    portmap: parsePortmap(r.portmap, where),
  };
}

function parsePluginSection(raw: unknown, where: string): ClusterNetwork['plugin'] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new NetworkError(`${where} must be an object such as {"type": "vxlan", "vni": 1}`);
  const p = raw as Record<string, unknown>;
  if (typeof p.type !== 'string' || !(AGENT_PLUGINS as readonly string[]).includes(p.type))
    throw new NetworkError(`${where}.type must be one of ${AGENT_PLUGINS.join(', ')}`);
  for (const k of ['clusterCIDR', 'peersFile', 'peers', 'podCIDR', 'ipam', 'name', 'cniVersion'])
    if (k in p) throw new NetworkError(`${where}.${k}: the agent sets this itself; remove it`);
  return p as ClusterNetwork['plugin'];
}

function parsePortmap(raw: unknown, where: string): boolean {
  if (raw === undefined) return true;
  if (typeof raw !== 'boolean') throw new NetworkError(`${where}: portmap must be true or false`);
  return raw;
}

/** How many subnets of subnetLen the clusterCIDR holds. */
export function subnetCount(net: ClusterNetwork): number {
  const c = parseCidr(net.clusterCIDR)!;
  return 2 ** (net.subnetLen - c.prefix);
}

/** The i-th subnet of the clusterCIDR (0-based). */
export function subnetAt(net: ClusterNetwork, i: number): string {
  const c = parseCidr(net.clusterCIDR)!;
  const base = c.ip.value;
  return formatCidr({ family: 4, value: base + (BigInt(i) << BigInt(32 - net.subnetLen)) }, net.subnetLen);
}

/** The etcd key of a subnet: "/cni-suite/podnet/subnets/10.244.3.0-24", as flannel spells them. */
export const subnetKey = (prefix: string, subnet: string): string =>
  `${prefix}/subnets/${subnet.replace('/', '-')}`;

export const subnetsPrefix = (prefix: string): string => `${prefix}/subnets/`;

/** A node record read back from etcd, or undefined when it is not one (skipped, never trusted). */
export function parseNodeRecord(value: string): NodeRecord | undefined {
  try {
    const r = JSON.parse(value) as Record<string, unknown>;
    if (typeof r.name !== 'string' || typeof r.nodeIP !== 'string' || typeof r.podCIDR !== 'string') return;
    if (!r.name || !isIp(r.nodeIP) || subnetProblem(r.podCIDR)) return;
    return { name: r.name, nodeIP: r.nodeIP, podCIDR: r.podCIDR };
  } catch {
    return undefined;
  }
}

/** The peers file's content: the other hosts, in a stable order, so the same set writes the same bytes. */
export function peersFileText(records: readonly NodeRecord[], self: string): string {
  const peers = records
    .filter((r) => r.name !== self)
    .sort((a, b) => a.podCIDR.localeCompare(b.podCIDR, 'en', { numeric: true }))
    .map((r) => ({ name: r.name, nodeIP: r.nodeIP, podCIDR: r.podCIDR }));
  return `${JSON.stringify(peers, null, 2)}\n`;
}

export interface ConflistInputs {
  network: string;
  podCIDR: string;
  peersFile: string;
  /** host-local's dataDir; its default when undefined. */
  ipamDataDir: string | undefined;
}

/** The conflist a runtime on this host reads: the plugin with this host's podCIDR and the peers file. */
export function conflist(net: ClusterNetwork, inputs: ConflistInputs): Record<string, unknown> {
  const ipam: Record<string, unknown> = { type: 'host-local', ranges: [[{ subnet: inputs.podCIDR }]] };
  if (inputs.ipamDataDir) ipam.dataDir = inputs.ipamDataDir;
  const plugins: Record<string, unknown>[] = [
    { ...net.plugin, clusterCIDR: net.clusterCIDR, peersFile: inputs.peersFile, ipam },
  ];
  if (net.portmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true } });
  return { cniVersion: '1.0.0', name: inputs.network, plugins };
}

export const conflistText = (net: ClusterNetwork, inputs: ConflistInputs): string =>
  `${JSON.stringify(conflist(net, inputs), null, 2)}\n`;
