// The fuzz tier's input generator: seeded, so a failing run is reproduced with FUZZ_SEED=<seed>.
// Each case is a plugin call (env + stdin) from one family of bad (or tolerated) input, with the
// outcome it must have: an error code and the field its message names, or success (DEL of a config
// it does not read). Families cover env, stdin JSON (types, sizes, nesting, encodings), names and
// paths with every special character class, special files and CNI_ARGS.
import { PLUGIN_NAMES } from '../../lib/names.js';

export type Rng = () => number;

/** mulberry32: a tiny seeded PRNG. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Paths a test worker provides: special files, and its own data dir and pod netns. */
export interface Fixtures {
  /** The built plugins' directory: CNI_PATH, so IPAM is found and its own checks run. */
  cniPath: string;
  dataDir: string;
  podNetns: string;
  fifo: string;
  socket: string;
  regular: string;
  directory: string;
  symlinkToFifo: string;
}

export interface Case {
  family: string;
  plugin: string;
  env: Record<string, string>;
  stdin: string;
  /** The error code and a pattern its message must match (the field it names), or success. */
  expect: { code: number; field: RegExp } | 'ok';
}

type Json = Record<string, unknown>;

/** A config each plugin accepts (ADD may still fail for host reasons: cases never rely on it). */
export function validConf(plugin: string, f: Fixtures): Json {
  const ipam = { type: 'host-local', subnet: '10.250.0.0/24', dataDir: f.dataDir };
  const base = { cniVersion: '1.0.0', name: 'fuzznet', type: plugin };
  switch (plugin) {
    case 'host-local':
      return { ...base, ipam };
    case 'portmap':
      return {
        ...base,
        runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80 }] },
        prevResult: {
          cniVersion: '1.0.0',
          interfaces: [{ name: 'eth0', sandbox: f.podNetns }],
          ips: [{ address: '10.250.0.5/24', interface: 0 }],
        },
      };
    case 'macvlan':
    case 'ipvlan-l3':
      return { ...base, master: 'eth0', ipam };
    case 'vxlan':
      return { ...base, vni: 7, ipMasq: false, ipam };
    default:
      return { ...base, ipMasq: false, ipam };
  }
}

const CONTROL = ['\x01', '\x7f', '\t', '\n', '\x1b[31m'];
/** Strings that break naive quoting in ip -batch, nft, JSON or a shell, plus sizes and encodings. */
function nasty(r: Rng): string {
  return pick(r, [
    () => `a"b`,
    () => `a'b`,
    () => 'a\\b',
    () => 'a#b',
    () => 'a b',
    () => `x${pick(r, CONTROL)}y`,
    () => 'br%d',
    () => '../../etc',
    () => 'x'.repeat(16 + Math.floor(r() * 300)),
    () => 'ünïcødé',
    () => '\u202eevil',
    () => '',
    () => 'all',
    () => '-',
  ])();
}

const ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A nasty string that is not a valid container ID or network name of at most `max` bytes. */
function badId(r: Rng, max: number): string {
  const s = nasty(r);
  return ID.test(s) && Buffer.byteLength(s) <= max ? `${s}${'z'.repeat(max)}` : s || ' ';
}

/** The env of a well-formed call. */
function goodEnv(command: string, f: Fixtures, id: string): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: f.podNetns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: f.cniPath,
  };
}

/** Plugin keys with values each plugin must refuse (code 7 naming the key). */
const BAD_KEYS: Record<string, [string, unknown[]][]> = {
  'bridge-route': [
    ['bridge', [123, 'a b', 'x'.repeat(16), 'all', 'br%d', 'a"b', '']],
    ['mtu', [-1, 'x', 70000, 1.5]],
    ['ipMasq', ['yes', 1]],
    ['clusterCIDR', ['x', 5, ['10.0.0.0/33']]],
    ['peers', ['x', [{}], [{ name: 'n', nodeIP: 'x', podCIDR: '10.1.0.0/24' }]]],
  ],
  vxlan: [
    ['vni', [-1, 16777216, 'x', 1.5]],
    ['mode', ['x', 3]],
  ],
  gre: [
    ['mode', ['x']],
    ['key', [-1, 'x']],
    ['ttl', [300, 'x']],
  ],
  macvlan: [
    ['mode', ['x']],
    ['master', ['a b', 'all', 'x'.repeat(16)]],
    ['hostShim', ['x', 5]],
  ],
  'ipvlan-l3': [
    ['mode', ['l2', 'x']],
    ['master', ['a b', 'all']],
  ],
  portmap: [['snat', ['yes', 1]]],
  'host-local': [],
};

const IPAM_BAD: [string, unknown][] = [
  ['subnet', 'x'],
  ['subnet', '10.0.0.0/33'],
  ['ranges', 'x'],
  ['ranges', [[{ subnet: 'x' }]]],
  ['rangeStart', '192.168.9.9'],
  ['routes', [{ dst: 'x' }]],
];

type Family = (r: Rng, plugin: string, f: Fixtures, id: string) => Omit<Case, 'family' | 'plugin'>;

const FAMILIES: Record<string, Family> = {
  'no CNI_COMMAND': (_r, p, f, id) => {
    const { CNI_COMMAND: _, ...env } = goodEnv('ADD', f, id);
    return { env, stdin: JSON.stringify(validConf(p, f)), expect: { code: 4, field: /CNI_COMMAND/ } };
  },
  'unknown CNI_COMMAND': (r, p, f, id) => ({
    env: goodEnv(pick(r, ['add', 'DELETE', 'ADD ', 'VERSIONS', `ADD${pick(r, CONTROL)}`, 'GC;DEL']), f, id),
    stdin: JSON.stringify(validConf(p, f)),
    expect: { code: 4, field: /CNI_COMMAND/ },
  }),
  'a CNI_* variable missing': (r, p, f, id) => {
    const v = pick(r, ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']);
    const env = goodEnv('ADD', f, id);
    delete env[v];
    return { env, stdin: JSON.stringify(validConf(p, f)), expect: { code: 4, field: new RegExp(v) } };
  },
  'bad CNI_CONTAINERID': (r, p, f) => ({
    env: goodEnv(pick(r, ['ADD', 'CHECK']), f, badId(r, 128)),
    stdin: JSON.stringify(validConf(p, f)),
    expect: { code: 4, field: /CNI_CONTAINERID/ },
  }),
  'bad CNI_IFNAME': (r, p, f, id) => ({
    env: {
      ...goodEnv('ADD', f, id),
      CNI_IFNAME: pick(r, [
        'eth%d',
        'a/b',
        'a:b',
        'default',
        'all',
        '.',
        '..',
        'x'.repeat(16 + Math.floor(r() * 100)),
        'a b',
        'a"b',
        "a'b",
        'a\\b',
        'a#b',
        `a${pick(r, CONTROL)}b`,
      ]),
    },
    stdin: JSON.stringify(validConf(p, f)),
    expect: { code: 4, field: /CNI_IFNAME/ },
  }),
  'CNI_NETNS not a netns': (r, p, f, id) => ({
    env: {
      ...goodEnv(pick(r, ['ADD', 'CHECK']), f, id),
      CNI_NETNS: pick(r, [
        f.fifo,
        f.socket,
        f.regular,
        f.directory,
        f.symlinkToFifo,
        '/dev/null',
        '/dev/zero',
        '/proc/self/ns/uts',
        '/nonexistent/netns',
        'relative/netns',
        '/run/netns/',
      ]),
    },
    stdin: JSON.stringify(validConf(p, f)),
    expect: { code: 4, field: /CNI_NETNS/ },
  }),
  'bad CNI_ARGS': (r, p, f, id) => ({
    env: {
      ...goodEnv('ADD', f, id),
      CNI_ARGS: pick(r, ['a', '=b', 'Unknown=1', `X=${'y'.repeat(5000)}`, 'K8S_POD_NAME', ';;a=b;c']),
    },
    stdin: JSON.stringify(validConf(p, f)),
    expect: { code: 4, field: /CNI_ARGS/ },
  }),
  'stdin not JSON': (r, p, f, id) => {
    const text = JSON.stringify(validConf(p, f));
    return {
      env: goodEnv(pick(r, ['ADD', 'DEL', 'CHECK']), f, id),
      stdin: pick(r, [
        '',
        text.slice(0, Math.floor(r() * (text.length - 1))),
        `${text}}`,
        `\ufeff${text}`,
        "{'single': 'quotes'}",
        Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('latin1'),
      ]),
      expect: { code: 6, field: /stdin/ },
    };
  },
  'stdin JSON not an object': (r, _p, f, id) => ({
    env: goodEnv(pick(r, ['ADD', 'DEL']), f, id),
    stdin: pick(r, ['[]', '1', '"x"', 'null', 'true', `[${'['.repeat(500)}${']'.repeat(500)}]`]),
    expect: { code: 6, field: /stdin/ },
  }),
  'bad cniVersion': (r, p, f, id) => ({
    env: goodEnv(pick(r, ['ADD', 'DEL', 'CHECK']), f, id),
    stdin: JSON.stringify({
      ...validConf(p, f),
      cniVersion: pick(r, ['2.0.0', '1.0', 'x', 1, '', '0.5.0', ' 1.0.0']),
    }),
    expect: { code: 1, field: /cniVersion/ },
  }),
  'bad name': (r, p, f, id) => ({
    env: goodEnv(pick(r, ['ADD', 'DEL', 'CHECK']), f, id),
    stdin: JSON.stringify({
      ...validConf(p, f),
      name: pick(r, [badId(r, 64), 5, [], 'n'.repeat(65 + Math.floor(r() * 1e5))]),
    }),
    expect: { code: 7, field: /name/ },
  }),
  'a plugin key of the wrong kind': (r, p, f, id) => {
    const keys = BAD_KEYS[p]!;
    if (!keys.length) return FAMILIES['bad ipam']!(r, p, f, id);
    const [key, values] = pick(r, keys);
    return {
      env: goodEnv(pick(r, ['ADD', 'CHECK']), f, id),
      stdin: JSON.stringify({ ...validConf(p, f), [key]: pick(r, values) }),
      expect: { code: 7, field: new RegExp(key) },
    };
  },
  'DEL reads no plugin key': (r, p, f, id) => {
    const keys = BAD_KEYS[p]!;
    const [key, values] = keys.length ? pick(r, keys) : ['unknownKey', [1]];
    return {
      env: goodEnv('DEL', f, id),
      stdin: JSON.stringify({ ...validConf(p, f), [key]: pick(r, values) }),
      expect: 'ok',
    };
  },
  'bad ipam': (r, p, f, id) => {
    if (p === 'portmap') return FAMILIES['bad portMappings']!(r, p, f, id);
    const [key, value] = pick(r, IPAM_BAD);
    const conf = validConf(p, f);
    const ipam = { ...(conf.ipam as Json), [key]: value };
    if (key === 'ranges') delete ipam.subnet;
    return {
      env: goodEnv('ADD', f, id),
      stdin: JSON.stringify({ ...conf, ipam }),
      expect: { code: 7, field: /ipam/ },
    };
  },
  'bad portMappings': (r, p, f, id) => {
    if (p !== 'portmap') return FAMILIES['bad ipam']!(r, p, f, id);
    const m = pick(r, [
      { hostPort: 0, containerPort: 80 },
      { hostPort: 'x', containerPort: 80 },
      { hostPort: 1, containerPort: 70000 },
      { hostPort: 1, containerPort: 1, protocol: 'icmp' },
      { hostPort: 1, containerPort: 1, hostIP: nasty(r) || 'x' },
      'x',
    ]);
    return {
      env: goodEnv(pick(r, ['ADD', 'CHECK']), f, id),
      stdin: JSON.stringify({ ...validConf(p, f), runtimeConfig: { portMappings: [m] } }),
      expect: { code: 7, field: /portMappings/ },
    };
  },
  'special files as paths': (r, p, f, id) => {
    const file = pick(r, [f.fifo, f.socket, '/dev/zero', f.directory, f.symlinkToFifo, 'relative/path']);
    const conf = validConf(p, f);
    if (p === 'portmap') return FAMILIES['bad portMappings']!(r, p, f, id);
    const [field, patched] = pick(r, [
      ['ipam.resolvConf', { ...conf, ipam: { ...(conf.ipam as Json), resolvConf: file } }],
      ...(['bridge-route', 'vxlan', 'gre', 'ipvlan-l3'].includes(p)
        ? [
            ['peersFile', { ...conf, peersFile: file }] as const,
            // /proc/self/status reads as text: a resolv.conf without entries, but no peers list.
            ['peersFile', { ...conf, peersFile: '/proc/self/status' }] as const,
          ]
        : []),
    ] as const);
    return {
      env: goodEnv('ADD', f, id),
      stdin: JSON.stringify(patched),
      expect: { code: 7, field: new RegExp(field.replace('.', '\\.')) },
    };
  },
  'a data dir that cannot hold leases': (r, p, f, id) => {
    if (p === 'portmap') return FAMILIES['bad portMappings']!(r, p, f, id);
    const conf = validConf(p, f);
    const dataDir = pick(r, [
      '/proc/self',
      '/sys/kernel',
      '/dev/null',
      '/',
      f.regular,
      'relative',
      `/${'d'.repeat(1100)}`,
    ]);
    return {
      env: goodEnv('ADD', f, id),
      stdin: JSON.stringify({ ...conf, ipam: { ...(conf.ipam as Json), dataDir } }),
      expect: { code: 7, field: /ipam\.dataDir/ },
    };
  },
  'deep and huge JSON': (r, p, f, id) => {
    if (p === 'portmap') return FAMILIES['bad portMappings']!(r, p, f, id);
    const depth = 200 + Math.floor(r() * 3000);
    return {
      env: goodEnv('ADD', f, id),
      stdin: JSON.stringify({
        ...validConf(p, f),
        ipam: JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`),
      }),
      expect: { code: 7, field: /ipam/ },
    };
  },
};

export const FAMILY_NAMES = Object.keys(FAMILIES);

/** The n-th case of a run: families and plugins in turn, values from the seeded generator. */
export function makeCase(r: Rng, n: number, f: Fixtures): Case {
  const family = FAMILY_NAMES[n % FAMILY_NAMES.length]!;
  const plugin = PLUGIN_NAMES[Math.floor(n / FAMILY_NAMES.length) % PLUGIN_NAMES.length]!;
  return { family, plugin, ...FAMILIES[family]!(r, plugin, f, `fuzz-${n}`) };
}
