// host-local's config: range sets with their defaults, requested addresses, routes. It never
// changes the system (it only looks at what ipam.dataDir is), so DEL and GC work whatever state the
// node is in. Every error names the
// field and says what to write instead.

import { realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import validate from '../../gen/host-local.validate.js';
import {
  bitsOf,
  formatCidr,
  formatIp,
  type Ip,
  isCidr,
  maskOf,
  parseCidr,
  parseIp,
} from '../../lib/base/ip.js';
import { pickArg } from '../../lib/cni/args.js';
import type { Json, NetConf } from '../../lib/cni/config.js';
import { configError } from '../../lib/cni/errors.js';
import type { Route } from '../../lib/cni/result.js';
import { checkSchema } from '../../lib/cni/validate.js';
import { atLeast } from '../../lib/cni/versions.js';
import {
  broadcastOf,
  inRange,
  inSubnet,
  ipOf,
  type Range,
  type RangeSet,
  rangeText,
  setText,
  subnetText,
} from './range.js';

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

/** What DEL and GC need: where the leases are. */
export interface StoreConfig {
  network: string;
  dataDir: string;
  /** How many range sets the config names (its last_reserved_ip.<n> files). */
  setCount: number;
  /** The first call after a reboot releases the leases of the boot before (default true). */
  releaseOnReboot: boolean;
}

export interface HostLocalConfig extends StoreConfig {
  sets: RangeSet[];
  /** Where each range set came from, for messages: "ipam.ranges[1]". */
  setLabels: string[];
  /** A requested (static) address per range-set index. */
  requested: Map<number, Ip>;
  routes: Route[];
  resolvConf: string | undefined;
}

interface RawRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}
interface Source {
  label: string;
  ranges: { path: string; raw: RawRange }[];
}

const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});

/** Kernel filesystems: reads there never end or files cannot be made (e.g. /proc/self spins). */
const PSEUDO_FS = ['/proc', '/sys', '/dev'];
const MAX_DATA_DIR = 1024;

/**
 * Why a dataDir cannot hold leases, else undefined. It is only read (stat, realpath), never
 * created here: the config stays free of side effects.
 */
export function dataDirProblem(dir: string): string | undefined {
  if (!dir.startsWith('/')) return 'must be an absolute path';
  if (dir.length > MAX_DATA_DIR) return `is longer than ${MAX_DATA_DIR} bytes`;
  let real = posix.normalize(dir).replace(/(.)\/+$/, '$1');
  try {
    if (!statSync(real).isDirectory()) return 'exists and is not a directory';
    real = realpathSync(real);
  } catch {
    // not there yet: ADD creates it
  }
  if (real === '/') return 'is the root of the filesystem: leases would be written to /<network>';
  const pseudo = PSEUDO_FS.find((p) => real === p || real.startsWith(`${p}/`));
  if (pseudo) return `is under ${pseudo}, a kernel filesystem that cannot hold leases`;
  return undefined;
}

/** The configured data dir (unchecked). */
export const dataDirOf = (conf: NetConf): string => {
  const dir = obj(conf.raw.ipam).dataDir;
  return typeof dir === 'string' ? dir : DEFAULT_DATA_DIR;
};

/** Shape, network name and data dir only: enough to find and release leases. */
export function loadStoreConfig(conf: NetConf): StoreConfig {
  checkSchema(validate, conf.raw);
  const dataDir = dataDirOf(conf);
  const problem = dataDirProblem(dataDir);
  if (problem)
    throw configError(`ipam.dataDir "${dataDir.slice(0, 200)}" ${problem}, e.g. "${DEFAULT_DATA_DIR}"`);
  const ipam = conf.raw.ipam as { releaseOnReboot?: boolean } | undefined;
  return {
    network: conf.name,
    dataDir,
    setCount: sources(conf.raw).length,
    releaseOnReboot: ipam?.releaseOnReboot ?? true,
  };
}

/** The whole config, validated; `cniArgs` supplies CNI_ARGS IP=. */
export function loadConfig(conf: NetConf, cniArgs: Record<string, string>): HostLocalConfig {
  const store = loadStoreConfig(conf);
  const ipam = obj(conf.raw.ipam);
  const srcs = sources(conf.raw);
  if (srcs.length === 0) {
    throw configError(
      'ipam.ranges is missing or empty: give at least one range set, e.g. "ranges": [[{"subnet": "10.1.0.0/24"}]]',
    );
  }
  const sets = srcs.map(toRangeSet);
  checkSetsDisjoint(sets, srcs);
  checkFamiliesForVersion(sets, conf);
  const setLabels = srcs.map((s) => s.label);
  return {
    ...store,
    sets,
    setLabels,
    requested: requestedIps(conf, cniArgs, sets, srcs),
    routes: routes(ipam.routes),
    resolvConf: (ipam.resolvConf as string | undefined) || undefined,
  };
}

/** Range sets in the reference's order: runtimeConfig.ipRanges, the legacy top-level range, ranges. */
function sources(raw: Json): Source[] {
  const ipam = obj(raw.ipam);
  const runtime = (obj(raw.runtimeConfig).ipRanges as RawRange[][] | undefined) ?? [];
  const legacy: Source[] =
    typeof ipam.subnet === 'string'
      ? [{ label: 'ipam.subnet', ranges: [{ path: 'ipam', raw: ipam as unknown as RawRange }] }]
      : [];
  const ranges = (ipam.ranges as RawRange[][] | undefined) ?? [];
  return [
    ...runtime.map((set, i) => fromList(`runtimeConfig.ipRanges[${i}]`, set)),
    ...legacy,
    ...ranges.map((set, i) => fromList(`ipam.ranges[${i}]`, set)),
  ];
}

const fromList = (label: string, set: RawRange[]): Source => ({
  label,
  ranges: set.map((raw, j) => ({ path: `${label}[${j}]`, raw })),
});

function toRangeSet(src: Source): RangeSet {
  if (src.ranges.length === 0)
    throw configError(`${src.label} is empty: give it at least one range like {"subnet": "10.1.0.0/24"}`);
  const set = src.ranges.map(({ path, raw }) => toRange(path, raw));
  const first = set[0]!;
  for (const r of set) {
    if (r.family !== first.family) {
      throw configError(
        `${src.label} mixes IPv4 and IPv6 (${subnetText(first)} and ${subnetText(r)}); put each family in its own range set`,
      );
    }
  }
  const clash = firstOverlap(set.map((range, owner) => ({ range, owner })));
  if (clash) {
    const [k, j] = clash;
    throw configError(
      `${src.ranges[j]!.path} (${rangeText(set[j]!)}) overlaps ${src.ranges[k]!.path} (${rangeText(set[k]!)}); make the ranges disjoint`,
    );
  }
  return set;
}

/** Defaults as the reference applies them: gateway and rangeStart network+1, rangeEnd the last host. */
export function toRange(path: string, raw: RawRange): Range {
  const cidr = parseCidr(raw.subnet);
  if (!cidr)
    throw configError(`${path}.subnet "${raw.subnet}" is not a subnet in CIDR form, e.g. "10.1.0.0/24"`);
  const { family } = cidr.ip;
  const bits = bitsOf(family);
  if (cidr.prefix > bits - 2) {
    throw configError(
      `${path}.subnet "${raw.subnet}" is too small to allocate from; use a /${bits - 2} or a larger subnet`,
    );
  }
  const network = cidr.ip.value & maskOf(family, cidr.prefix);
  if (network !== cidr.ip.value) {
    const fixed = formatCidr({ family, value: network }, cidr.prefix);
    throw configError(`${path}.subnet "${raw.subnet}" has host bits set; use "${fixed}"`);
  }
  const base: Range = { family, network, prefix: cidr.prefix, start: 0n, end: 0n, gateway: network + 1n };
  const last = broadcastOf(base) - (family === 4 ? 1n : 0n);
  const addr = (field: 'rangeStart' | 'rangeEnd' | 'gateway', dflt: bigint, inside: boolean): bigint => {
    const s = raw[field];
    if (s === undefined || s === '') return dflt;
    const ip = parseIp(s);
    if (!ip || ip.family !== family) {
      throw configError(
        `${path}.${field} "${s}" is not an IPv${family} address (the subnet is IPv${family})`,
      );
    }
    if (inside && !inSubnet(base, ip)) {
      const span = `${formatIp(ipOf(base, network + 1n))} to ${formatIp(ipOf(base, last))}`;
      throw configError(
        `${path}.${field} "${s}" is outside ${subnetText(base)}; use an address from ${span}`,
      );
    }
    return ip.value;
  };
  const range: Range = {
    ...base,
    gateway: addr('gateway', network + 1n, false),
    start: addr('rangeStart', network + 1n, true),
    end: addr('rangeEnd', last, true),
  };
  if (range.start > range.end) {
    throw configError(
      `${path}.rangeStart "${raw.rangeStart ?? formatIp(ipOf(range, range.start))}" comes after rangeEnd "${formatIp(ipOf(range, range.end))}"; swap them`,
    );
  }
  return range;
}

/**
 * Two ranges of different owners that share an address, as [lower owner, higher owner], else
 * undefined. Sorted by start then swept, O(n log n): a megabyte of ranges is checked at once (every
 * pair, as before, took seconds, and hours for 20 MB).
 */
function firstOverlap(items: { range: Range; owner: number }[]): [number, number] | undefined {
  const sorted = [...items].sort((a, b) =>
    a.range.family !== b.range.family
      ? a.range.family - b.range.family
      : a.range.start < b.range.start
        ? -1
        : a.range.start > b.range.start
          ? 1
          : 0,
  );
  let reach: (typeof items)[number] | undefined; // the range reaching furthest so far
  for (const it of sorted) {
    if (reach && reach.range.family === it.range.family && it.range.start <= reach.range.end) {
      if (reach.owner !== it.owner)
        return reach.owner < it.owner ? [reach.owner, it.owner] : [it.owner, reach.owner];
    }
    if (!reach || reach.range.family !== it.range.family || it.range.end > reach.range.end) reach = it;
  }
  return undefined;
}

function checkSetsDisjoint(sets: RangeSet[], srcs: Source[]): void {
  // Each set's own ranges are disjoint already (toRangeSet): any overlap is between two sets.
  const clash = firstOverlap(sets.flatMap((set, owner) => set.map((range) => ({ range, owner }))));
  if (clash) {
    const [j, i] = clash;
    throw configError(
      `${srcs[i]!.label} (${setText(sets[i]!)}) overlaps ${srcs[j]!.label} (${setText(sets[j]!)}); range sets must be disjoint`,
    );
  }
}

/** Results before 0.3.0 hold one IPv4 and one IPv6 address. */
function checkFamiliesForVersion(sets: RangeSet[], conf: NetConf): void {
  if (atLeast(conf.cniVersion, '0.3.0')) return;
  for (const fam of [4, 6]) {
    const n = sets.filter((s) => s[0]!.family === fam).length;
    if (n > 1) {
      throw configError(
        `cniVersion ${conf.cniVersion} results hold one address per family, but ${n} range sets are IPv${fam}; use cniVersion 0.3.0 or later`,
      );
    }
  }
}

/** Static addresses: CNI_ARGS IP < args.cni.ips < runtimeConfig.ips (the suite's precedence). */
function requestedIps(
  conf: NetConf,
  cniArgs: Record<string, string>,
  sets: RangeSet[],
  srcs: Source[],
): Map<number, Ip> {
  const list = (v: unknown) => (Array.isArray(v) && v.length ? (v as string[]) : undefined);
  const fromEnv = cniArgs.IP ? cniArgs.IP.split(',').filter(Boolean) : undefined;
  const picked = pickArg({
    cniArgs: fromEnv && { where: 'CNI_ARGS IP', ips: fromEnv },
    argsCni: list(conf.argsCni.ips) && { where: 'args.cni.ips', ips: list(conf.argsCni.ips)! },
    runtimeConfig: list(conf.runtimeConfig.ips) && {
      where: 'runtimeConfig.ips',
      ips: list(conf.runtimeConfig.ips)!,
    },
  });
  const out = new Map<number, Ip>();
  const whereOf = new Map<number, string>();
  picked?.ips.forEach((text, i) => {
    const where = picked.where === 'CNI_ARGS IP' ? picked.where : `${picked.where}[${i}]`;
    const ip = text.includes('/') ? parseCidr(text)?.ip : parseIp(text);
    if (!ip) throw configError(`${where} "${text}" is not an IP address`);
    const setIndex = sets.findIndex((set) => set.some((r) => inRange(r, ip)));
    if (setIndex < 0) {
      throw configError(
        `${where} "${text}" is outside every range (${sets.map(setText).join('; ')}); request an address inside one of them`,
      );
    }
    const set = sets[setIndex]!;
    const range = set.find((r) => inRange(r, ip))!;
    const path = srcs[setIndex]!.ranges[set.indexOf(range)]!.path;
    const special =
      ip.value === range.gateway
        ? 'the gateway'
        : ip.value === range.network
          ? 'the network address'
          : range.family === 4 && ip.value === broadcastOf(range)
            ? 'the broadcast address'
            : undefined;
    if (special) throw configError(`${where} "${text}" is ${special} of ${path}; request another address`);
    const clash = whereOf.get(setIndex);
    if (clash) {
      throw configError(
        `${where} and ${clash} both fall in ${srcs[setIndex]!.label}; request at most one address per range set`,
      );
    }
    out.set(setIndex, ip);
    whereOf.set(setIndex, where);
  });
  return out;
}

function routes(raw: unknown): Route[] {
  const list = (raw as Json[] | undefined) ?? [];
  return list.map((r, i) => {
    const dst = r.dst as string;
    if (!isCidr(dst))
      throw configError(`ipam.routes[${i}].dst "${dst}" is not in CIDR form, e.g. "0.0.0.0/0"`);
    const gw = r.gw as string | undefined;
    if (gw !== undefined && !parseIp(gw))
      throw configError(`ipam.routes[${i}].gw "${gw}" is not an IP address`);
    const route: Route = { dst };
    if (gw) route.gw = gw;
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const)
      if (typeof r[k] === 'number') route[k] = r[k] as number;
    return route;
  });
}
