// The result model (spec 1.1 inside) and its conversion to and from every older shape.
// Plugins build a Result; only the edge (skel, delegation) sees versioned JSON.
import { ipFamily, isCidr, isIp } from '../base/ip.js';
import { CniError, ErrorCode } from './errors.js';
import { resultFamily, type SpecVersion } from './versions.js';

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}
export interface IpConfig {
  /** CIDR notation: the address with its subnet prefix, e.g. "10.1.0.5/24". */
  address: string;
  gateway?: string;
  /** Index into Result.interfaces. */
  interface?: number;
}
export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}
export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}
export interface Result {
  interfaces: Interface[];
  ips: IpConfig[];
  routes: Route[];
  dns: Dns;
}

type Json = Record<string, unknown>;

export const emptyResult = (): Result => ({ interfaces: [], ips: [], routes: [], dns: {} });

// ---------- printing ----------

/** The result as the JSON object a caller at `version` expects. */
export function resultToVersion(result: Result, version: SpecVersion): Json {
  switch (resultFamily(version)) {
    case 'legacy':
      return toLegacy(result, version);
    case 'ips-versioned':
      return toVersioned(result, version);
    case 'v1':
      return toV1(result, version);
  }
}

function toV1(result: Result, version: SpecVersion): Json {
  const keep11 = version === '1.1.0';
  const interfaces = result.interfaces.map((i) =>
    keep11 ? clean({ ...i }) : clean({ name: i.name, mac: i.mac, sandbox: i.sandbox }),
  );
  const ips = result.ips.map((ip) =>
    clean({ address: ip.address, gateway: ip.gateway, interface: ip.interface }),
  );
  const routes = result.routes.map((r) => (keep11 ? clean({ ...r }) : clean({ dst: r.dst, gw: r.gw })));
  return withLists({ cniVersion: version }, { interfaces, ips, routes }, result.dns);
}

function toVersioned(result: Result, version: SpecVersion): Json {
  const interfaces = result.interfaces.map((i) => clean({ name: i.name, mac: i.mac, sandbox: i.sandbox }));
  const ips = result.ips.map((ip) =>
    clean({
      version: String(ipFamily(ip.address)),
      interface: ip.interface,
      address: ip.address,
      gateway: ip.gateway,
    }),
  );
  const routes = result.routes.map((r) => clean({ dst: r.dst, gw: r.gw }));
  return withLists({ cniVersion: version }, { interfaces, ips, routes }, result.dns);
}

/** 0.1.0/0.2.0 hold one IPv4 and one IPv6 config; routes go with the address of their family. */
function toLegacy(result: Result, version: SpecVersion): Json {
  const first = (fam: 4 | 6) => result.ips.find((ip) => ipFamily(ip.address) === fam);
  const out: Json = { cniVersion: version };
  for (const fam of [4, 6] as const) {
    const ip = first(fam);
    if (!ip) continue;
    const routes = result.routes
      .filter((r) => ipFamily(r.dst) === fam)
      .map((r) => clean({ dst: r.dst, gw: r.gw }));
    out[`ip${fam}`] = clean({
      ip: ip.address,
      gateway: ip.gateway,
      routes: routes.length ? routes : undefined,
    });
  }
  if (!out.ip4 && !out.ip6) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `cannot express this result in cniVersion ${version}: it has no IP address, and ${version} results need one`,
    );
  }
  out.dns = clean({ ...result.dns });
  return out;
}

function withLists(head: Json, lists: Record<string, unknown[]>, dns: Dns): Json {
  for (const [k, v] of Object.entries(lists)) if (v.length) head[k] = v;
  head.dns = clean({ ...dns });
  return head;
}

/** Drops undefined values so printed JSON has no `null`s and no empty keys. */
function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

// ---------- parsing ----------

/** Parses a result (or prevResult) written at `version` into the model; throws code 6 on a bad shape. */
export function parseResult(raw: unknown, version: SpecVersion, what = 'result'): Result {
  if (!isObject(raw)) throw decodeError(`${what} must be a JSON object`);
  const dns = parseDns(raw.dns, what);
  if (resultFamily(version) === 'legacy') return parseLegacy(raw, dns, what);
  const interfaces = list(raw.interfaces, `${what}.interfaces`).map((v, i) =>
    parseInterface(v, `${what}.interfaces[${i}]`),
  );
  const ips = list(raw.ips, `${what}.ips`).map((v, i) => parseIp(v, `${what}.ips[${i}]`, interfaces.length));
  const routes = list(raw.routes, `${what}.routes`).map((v, i) => parseRoute(v, `${what}.routes[${i}]`));
  return { interfaces, ips, routes, dns };
}

function parseLegacy(raw: Json, dns: Dns, what: string): Result {
  const result: Result = { interfaces: [], ips: [], routes: [], dns };
  for (const fam of [4, 6] as const) {
    const cfg = raw[`ip${fam}`];
    if (cfg === undefined || cfg === null) continue;
    const where = `${what}.ip${fam}`;
    if (!isObject(cfg)) throw decodeError(`${where} must be an object`);
    result.ips.push(
      clean({ address: cidr(cfg.ip, `${where}.ip`), gateway: optIp(cfg.gateway, `${where}.gateway`) }),
    );
    result.routes.push(
      ...list(cfg.routes, `${where}.routes`).map((v, i) => parseRoute(v, `${where}.routes[${i}]`)),
    );
  }
  return result;
}

function parseInterface(v: unknown, where: string): Interface {
  if (!isObject(v) || typeof v.name !== 'string') throw decodeError(`${where} needs a string "name"`);
  return clean({
    name: v.name,
    mac: optStr(v.mac, `${where}.mac`),
    mtu: optNum(v.mtu, `${where}.mtu`),
    sandbox: optStr(v.sandbox, `${where}.sandbox`),
    socketPath: optStr(v.socketPath, `${where}.socketPath`),
    pciID: optStr(v.pciID, `${where}.pciID`),
  });
}

function parseIp(v: unknown, where: string, interfaceCount: number): IpConfig {
  if (!isObject(v)) throw decodeError(`${where} must be an object`);
  const index = optNum(v.interface, `${where}.interface`);
  if (index !== undefined && (index < 0 || index >= interfaceCount || !Number.isInteger(index))) {
    throw decodeError(
      `${where}.interface ${index} does not point into interfaces (${interfaceCount} entries)`,
    );
  }
  return clean({
    address: cidr(v.address, `${where}.address`),
    gateway: optIp(v.gateway, `${where}.gateway`),
    interface: index,
  });
}

function parseRoute(v: unknown, where: string): Route {
  if (!isObject(v)) throw decodeError(`${where} must be an object`);
  return clean({
    dst: cidr(v.dst, `${where}.dst`),
    gw: optIp(v.gw, `${where}.gw`),
    mtu: optNum(v.mtu, `${where}.mtu`),
    advmss: optNum(v.advmss, `${where}.advmss`),
    priority: optNum(v.priority, `${where}.priority`),
    table: optNum(v.table, `${where}.table`),
    scope: optNum(v.scope, `${where}.scope`),
  });
}

function parseDns(v: unknown, what: string): Dns {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw decodeError(`${what}.dns must be an object`);
  return clean({
    nameservers: optStrList(v.nameservers, `${what}.dns.nameservers`),
    domain: optStr(v.domain, `${what}.dns.domain`),
    search: optStrList(v.search, `${what}.dns.search`),
    options: optStrList(v.options, `${what}.dns.options`),
  });
}

const decodeError = (msg: string) => new CniError(ErrorCode.DecodingFailure, msg);
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw decodeError(`${where} must be a list`);
  return v;
}
function optStr(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw decodeError(`${where} must be a string`);
  return v;
}
function optNum(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw decodeError(`${where} must be a number`);
  return v;
}
function optStrList(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    throw decodeError(`${where} must be a list of strings`);
  return v as string[];
}
function optIp(v: unknown, where: string): string | undefined {
  const s = optStr(v, where);
  if (s !== undefined && !isIp(s)) throw decodeError(`${where} "${s}" is not an IP address`);
  return s;
}
function cidr(v: unknown, where: string): string {
  if (typeof v !== 'string' || !isCidr(v))
    throw decodeError(`${where} must be an address in CIDR form, e.g. "10.1.0.5/24"`);
  return v;
}
