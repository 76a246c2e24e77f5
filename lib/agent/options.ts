// The agent's settings: a JSON file (--config) and/or flags, flags winning. Every problem is an
// AgentConfigError naming the key (and its flag), found before etcd is contacted or a file written.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { isIp } from '../base/ip.js';
import { validateNetworkName } from '../cni/env.js';
import { parseAddress } from './address.js';

export class AgentConfigError extends Error {}

export interface EtcdOptions {
  endpoints: string[];
  /** PEM files for TLS: the CA that signed etcd's certificate, and a client certificate and key. */
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  username: string | undefined;
  password: string | undefined;
  /** How long one etcd call may take before it counts as failed. */
  timeoutMs: number;
}

export interface AgentOptions {
  network: string;
  etcd: EtcdOptions;
  prefix: string;
  nodeName: string;
  /** undefined: the default route device's first IPv4 address, read at start. */
  nodeIP: string | undefined;
  /** Where the agent remembers its subnet across restarts. */
  dataDir: string;
  peersFile: string;
  conflist: string;
  /** host-local's dataDir in the conflist; its own default when undefined. */
  ipamDataDir: string | undefined;
  /** Seconds a host's subnet outlives its agent (flannel's default: 24 h). */
  leaseTTL: number;
  /** Where /healthz, /readyz and /metrics are served (health.ts); undefined: not served. */
  health: { host: string; port: number } | undefined;
}

/** Each setting: its key in the file, its flag, and how a flag's text becomes its value. */
const SETTINGS = {
  network: { flag: 'network', type: 'string' },
  etcdEndpoints: { flag: 'etcd-endpoints', type: 'list' },
  etcdCA: { flag: 'etcd-ca', type: 'string' },
  etcdCert: { flag: 'etcd-cert', type: 'string' },
  etcdKey: { flag: 'etcd-key', type: 'string' },
  etcdUsername: { flag: 'etcd-username', type: 'string' },
  etcdPassword: { flag: 'etcd-password', type: 'string' },
  etcdTimeout: { flag: 'etcd-timeout', type: 'number' },
  prefix: { flag: 'prefix', type: 'string' },
  nodeName: { flag: 'node-name', type: 'string' },
  nodeIP: { flag: 'node-ip', type: 'string' },
  dataDir: { flag: 'data-dir', type: 'string' },
  peersFile: { flag: 'peers-file', type: 'string' },
  confDir: { flag: 'conf-dir', type: 'string' },
  conflist: { flag: 'conflist', type: 'string' },
  ipamDataDir: { flag: 'ipam-data-dir', type: 'string' },
  leaseTTL: { flag: 'lease-ttl', type: 'number' },
  healthAddress: { flag: 'health-address', type: 'string' },
} as const;
type Key = keyof typeof SETTINGS;
type Raw = Partial<Record<Key, unknown>>;

export const DEFAULTS = {
  etcdEndpoints: ['http://127.0.0.1:2379'],
  etcdTimeout: 5,
  dataDir: '/var/lib/cni-suite/agent',
  confDir: '/etc/cni/net.d',
  leaseTTL: 86_400,
  healthAddress: '127.0.0.1:9477',
};

/** The flags of the settings, for parseArgs (lists and numbers arrive as text). */
export const SETTING_FLAGS: ParseArgsOptionsConfig = Object.fromEntries([
  ['config', { type: 'string' }],
  ...Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' }]),
]);

/** Splits argv into the settings' flags and the command's own (`extra`), all strict. */
export function parseFlags(args: string[], extra: ParseArgsOptionsConfig = {}) {
  try {
    return parseArgs({ args, options: { ...SETTING_FLAGS, ...extra }, strict: true, allowPositionals: false })
      .values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new AgentConfigError((err as Error).message);
  }
}

/** The settings from --config's file overlaid with the flags, validated, defaults filled in. */
export function agentOptions(flags: Record<string, string | boolean | undefined>): AgentOptions {
  const raw: Raw = { ...readConfigFile(flags.config), ...fromFlags(flags) };
  const at = (k: Key) => `${k} (--${SETTINGS[k].flag})`;
  const str = (k: Key): string | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !v) throw new AgentConfigError(`${at(k)} must be a non-empty string`);
    return v;
  };
  const num = (k: Key, dflt: number, min: number): number => {
    const v = raw[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new AgentConfigError(`${at(k)} must be a whole number of at least ${min}`);
    return v;
  };

  const network = str('network');
  if (!network)
    throw new AgentConfigError(`${at('network')} is required: the CNI network's name, e.g. "podnet"`);
  const badName = networkNameProblem(network);
  if (badName) throw new AgentConfigError(`${at('network')}: ${badName}`);
  const nodeIP = str('nodeIP');
  if (nodeIP !== undefined && !isIp(nodeIP))
    throw new AgentConfigError(`${at('nodeIP')} "${nodeIP}" is not an IP address`);
  const prefix = (str('prefix') ?? `/cni-suite/${network}`).replace(/\/+$/, '');
  if (!prefix.startsWith('/')) throw new AgentConfigError(`${at('prefix')} "${prefix}" must start with "/"`);
  const confDir = str('confDir') ?? DEFAULTS.confDir;
  const dataDir = resolve(str('dataDir') ?? DEFAULTS.dataDir);
  const ipamDataDir = str('ipamDataDir');
  return {
    network,
    etcd: etcdOptions(raw, at, str, num),
    prefix,
    nodeName: str('nodeName') ?? hostname(),
    nodeIP,
    dataDir,
    peersFile: resolve(str('peersFile') ?? `${dataDir}/${network}-peers.json`),
    conflist: resolve(str('conflist') ?? `${confDir}/10-${network}.conflist`),
    ipamDataDir: ipamDataDir === undefined ? undefined : resolve(ipamDataDir),
    leaseTTL: num('leaseTTL', DEFAULTS.leaseTTL, 2),
    health: healthAddress(raw.healthAddress, at('healthAddress')),
  };
}

function etcdOptions(
  raw: Raw,
  at: (k: Key) => string,
  str: (k: Key) => string | undefined,
  num: (k: Key, dflt: number, min: number) => number,
): EtcdOptions {
  const endpoints = raw.etcdEndpoints ?? DEFAULTS.etcdEndpoints;
  if (!Array.isArray(endpoints) || !endpoints.length)
    throw new AgentConfigError(
      `${at('etcdEndpoints')} must be a non-empty list of URLs, e.g. ["https://10.0.0.5:2379"]`,
    );
  for (const e of endpoints)
    if (typeof e !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(e))
      throw new AgentConfigError(`${at('etcdEndpoints')}: "${e}" is not an http(s)://host:port URL`);
  const tls = { ca: str('etcdCA'), cert: str('etcdCert'), key: str('etcdKey') };
  if ((tls.cert === undefined) !== (tls.key === undefined))
    throw new AgentConfigError(`${at('etcdCert')} and ${at('etcdKey')} go together: give both or neither`);
  if (tls.cert && !tls.ca) throw new AgentConfigError(`${at('etcdCert')} needs ${at('etcdCA')} too`);
  const username = str('etcdUsername');
  const password = str('etcdPassword');
  if ((username === undefined) !== (password === undefined))
    throw new AgentConfigError(`${at('etcdUsername')} and ${at('etcdPassword')} go together`);
  return {
    endpoints: endpoints as string[],
    ...tls,
    username,
    password,
    timeoutMs: num('etcdTimeout', DEFAULTS.etcdTimeout, 1) * 1000,
  };
}

/** host:port of the health endpoints; "" turns them off. */
function healthAddress(v: unknown, at: string): { host: string; port: number } | undefined {
  const text = v ?? DEFAULTS.healthAddress;
  if (text === '') return undefined;
  const parsed = typeof text === 'string' ? parseAddress(text) : undefined;
  if (!parsed)
    throw new AgentConfigError(
      `${at} "${String(text)}" must be host:port, e.g. "127.0.0.1:9477" (or "" to serve nothing)`,
    );
  return parsed;
}

function networkNameProblem(name: string): string | undefined {
  try {
    validateNetworkName(name);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function readConfigFile(path: unknown): Raw {
  if (typeof path !== 'string') return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentConfigError(`--config "${path}" cannot be read: ${(err as NodeJS.ErrnoException).code}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AgentConfigError(`--config "${path}" is not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AgentConfigError(`--config "${path}" must hold a JSON object`);
  for (const k of Object.keys(raw))
    if (!(k in SETTINGS) && k !== '$comment')
      throw new AgentConfigError(
        `--config "${path}": unknown key "${k}" (known: ${Object.keys(SETTINGS).join(', ')})`,
      );
  return raw as Raw;
}

function fromFlags(flags: Record<string, string | boolean | undefined>): Raw {
  const raw: Raw = {};
  for (const [key, s] of Object.entries(SETTINGS) as [Key, (typeof SETTINGS)[Key]][]) {
    const v = flags[s.flag];
    if (typeof v !== 'string') continue;
    raw[key] =
      s.type === 'list'
        ? v
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)
        : s.type === 'number'
          ? /^\d+$/.test(v)
            ? Number(v)
            : v
          : v;
  }
  return raw;
}
