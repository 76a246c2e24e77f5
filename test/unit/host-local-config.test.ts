// host-local config: every validation error names the field and the fix (code 7); defaults,
// range-set order and requested addresses, table-driven.
import t from 'tap';
import { loadConfig, loadStoreConfig } from '../../ipam/host-local/config.js';
import { setText } from '../../ipam/host-local/range.js';
import { formatIp } from '../../lib/base/ip.js';
import { parseNetConf, parseVersion } from '../../lib/cni/config.js';
import type { CniError } from '../../lib/cni/errors.js';

type Json = Record<string, unknown>;

const netconf = (extra: Json, ipam: Json | undefined) => {
  const raw: Json = { cniVersion: '1.0.0', name: 'net1', type: 'host-local', ...extra };
  if (ipam) raw.ipam = { type: 'host-local', ...ipam };
  return parseNetConf(raw, parseVersion(raw), JSON.stringify(raw));
};
const load = (ipam: Json | undefined, extra: Json = {}, cniArgs: Record<string, string> = {}) =>
  loadConfig(netconf(extra, ipam), cniArgs);
const failure = (fn: () => unknown): { code: number; msg: string } | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return { code: (e as CniError).code, msg: (e as Error).message };
  }
};

const r24 = [[{ subnet: '10.1.0.0/24' }]];

t.test('invalid configs: code 7, the field and the fix', async (t) => {
  const table: [string, Json | undefined, Json, Record<string, string>, RegExp][] = [
    ['no ipam', undefined, {}, {}, /^ipam is required/],
    ['no ranges', {}, {}, {}, /ipam\.ranges is missing or empty.*"ranges": \[\[/],
    ['ranges not a list', { ranges: 'x' }, {}, {}, /^ipam\.ranges must be array/],
    ['range without subnet', { ranges: [[{}]] }, {}, {}, /^ipam\.ranges\[0\]\[0\]\.subnet is required/],
    ['empty range set', { ranges: [[]] }, {}, {}, /^ipam\.ranges\[0\] is empty/],
    [
      'host bits',
      { ranges: [[{ subnet: '10.1.0.5/24' }]] },
      {},
      {},
      /^ipam\.ranges\[0\]\[0\]\.subnet "10\.1\.0\.5\/24" has host bits set; use "10\.1\.0\.0\/24"$/,
    ],
    [
      'host bits, IPv6',
      { ranges: [[{ subnet: 'fd00::5/64' }]] },
      {},
      {},
      /has host bits set; use "fd00::\/64"/,
    ],
    [
      'not a CIDR',
      { ranges: [[{ subnet: '10.1.0.0' }]] },
      {},
      {},
      /subnet "10\.1\.0\.0" is not a subnet in CIDR/,
    ],
    [
      'too small v4',
      { ranges: [[{ subnet: '10.1.0.0/31' }]] },
      {},
      {},
      /too small to allocate from; use a \/30/,
    ],
    ['too small v6', { ranges: [[{ subnet: 'fd00::/127' }]] }, {}, {}, /too small.*\/126/],
    [
      'legacy subnet host bits',
      { subnet: '10.1.0.1/16' },
      {},
      {},
      /^ipam\.subnet "10\.1\.0\.1\/16" has host bits set; use "10\.1\.0\.0\/16"/,
    ],
    [
      'mixed families in a set',
      { ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: 'fd00::/64' }]] },
      {},
      {},
      /^ipam\.ranges\[0\] mixes IPv4 and IPv6 \(10\.1\.0\.0\/24 and fd00::\/64\); put each family in its own range set/,
    ],
    [
      'overlap within a set',
      { ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: '10.1.0.0/25' }]] },
      {},
      {},
      /^ipam\.ranges\[0\]\[1\] \(10\.1\.0\.1-10\.1\.0\.126\) overlaps ipam\.ranges\[0\]\[0\].*make the ranges disjoint/,
    ],
    [
      'overlap between sets',
      { ranges: [[{ subnet: '10.1.0.0/16' }], [{ subnet: '10.1.2.0/24' }]] },
      {},
      {},
      /^ipam\.ranges\[1\] \(10\.1\.2\.1-10\.1\.2\.254\) overlaps ipam\.ranges\[0\].*range sets must be disjoint/,
    ],
    [
      'overlap of runtime ipRanges with ranges',
      { ranges: r24 },
      { runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.0/24' }]] } },
      {},
      /^ipam\.ranges\[0\] .* overlaps runtimeConfig\.ipRanges\[0\]/,
    ],
    [
      'rangeStart outside',
      { ranges: [[{ subnet: '10.1.0.0/24', rangeStart: '10.2.0.5' }]] },
      {},
      {},
      /^ipam\.ranges\[0\]\[0\]\.rangeStart "10\.2\.0\.5" is outside 10\.1\.0\.0\/24; use an address from 10\.1\.0\.1 to 10\.1\.0\.254/,
    ],
    [
      'rangeEnd outside',
      { ranges: [[{ subnet: '10.1.0.0/24', rangeEnd: '10.1.1.0' }]] },
      {},
      {},
      /rangeEnd "10\.1\.1\.0" is outside/,
    ],
    [
      'rangeStart after rangeEnd',
      { ranges: [[{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.9', rangeEnd: '10.1.0.5' }]] },
      {},
      {},
      /rangeStart "10\.1\.0\.9" comes after rangeEnd "10\.1\.0\.5"; swap them/,
    ],
    [
      'gateway of the other family',
      { ranges: [[{ subnet: '10.1.0.0/24', gateway: 'fd00::1' }]] },
      {},
      {},
      /gateway "fd00::1" is not an IPv4 address/,
    ],
    [
      'requested IP outside every range',
      { ranges: r24 },
      { runtimeConfig: { ips: ['10.9.0.5'] } },
      {},
      /^runtimeConfig\.ips\[0\] "10\.9\.0\.5" is outside every range \(10\.1\.0\.1-10\.1\.0\.254\)/,
    ],
    [
      'requested IP is the gateway',
      { ranges: r24 },
      {},
      { IP: '10.1.0.1' },
      /^CNI_ARGS IP "10\.1\.0\.1" is the gateway of ipam\.ranges\[0\]\[0\]; request another address/,
    ],
    [
      'two requested IPs in one set',
      { ranges: r24 },
      { args: { cni: { ips: ['10.1.0.5', '10.1.0.6/24'] } } },
      {},
      /args\.cni\.ips\[1\] and args\.cni\.ips\[0\] both fall in ipam\.ranges\[0\]/,
    ],
    ['requested IP not an IP', { ranges: r24 }, { runtimeConfig: { ips: ['x'] } }, {}, /"x" is not an IP/],
    [
      'dataDir relative',
      { ranges: r24, dataDir: 'rel/dir' },
      {},
      {},
      /^ipam\.dataDir "rel\/dir" must be an absolute/,
    ],
    ['dataDir type', { ranges: r24, dataDir: 5 }, {}, {}, /^ipam\.dataDir must be string/],
    [
      'route dst',
      { ranges: r24, routes: [{ dst: '10.0.0.0' }] },
      {},
      {},
      /^ipam\.routes\[0\]\.dst "10\.0\.0\.0" is not in CIDR/,
    ],
    [
      'route gw',
      { ranges: r24, routes: [{ dst: '0.0.0.0/0', gw: 'x' }] },
      {},
      {},
      /^ipam\.routes\[0\]\.gw "x"/,
    ],
    [
      'two IPv4 sets at 0.2.0',
      { ranges: [...r24, [{ subnet: '10.2.0.0/24' }]] },
      { cniVersion: '0.2.0' },
      {},
      /cniVersion 0\.2\.0 results hold one address per family, but 2 range sets are IPv4/,
    ],
  ];
  for (const [what, ipam, extra, args, msg] of table) {
    const f = failure(() => load(ipam, extra, args));
    t.equal(f?.code, 7, `${what}: code 7`);
    t.match(f?.msg, msg, what);
  }
});

t.test('range sets in the reference order: runtime ipRanges, legacy subnet, ranges', async (t) => {
  const cfg = load(
    { subnet: '10.2.0.0/24', ranges: [[{ subnet: '10.3.0.0/24' }], [{ subnet: 'fd00::/64' }]] },
    { runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.0/24' }]] } },
  );
  t.same(cfg.setLabels, ['runtimeConfig.ipRanges[0]', 'ipam.subnet', 'ipam.ranges[0]', 'ipam.ranges[1]']);
  t.same(cfg.sets.map(setText), [
    '10.1.0.1-10.1.0.254',
    '10.2.0.1-10.2.0.254',
    '10.3.0.1-10.3.0.254',
    'fd00::1-fd00::ffff:ffff:ffff:ffff',
  ]);
  t.equal(cfg.dataDir, '/var/lib/cni/networks');
  t.equal(cfg.network, 'net1');
});

t.test('requested addresses: runtimeConfig > args.cni > CNI_ARGS, one per set', async (t) => {
  const ipam = { ranges: [...r24, [{ subnet: 'fd00::/64' }]] };
  const pick = (extra: Json, args: Record<string, string>) =>
    [...load(ipam, extra, args).requested].map(([set, ip]) => `${set}=${formatIp(ip)}`);
  t.same(pick({}, { IP: '10.1.0.7' }), ['0=10.1.0.7']);
  t.same(pick({}, { IP: '10.1.0.7,fd00::7' }), ['0=10.1.0.7', '1=fd00::7']);
  t.same(pick({ args: { cni: { ips: ['fd00::8'] } } }, { IP: '10.1.0.7' }), ['1=fd00::8']);
  t.same(pick({ runtimeConfig: { ips: ['10.1.0.9/24'] }, args: { cni: { ips: ['fd00::8'] } } }, {}), [
    '0=10.1.0.9',
  ]);
  t.same(pick({ runtimeConfig: { ips: [] } }, { IP: '10.1.0.7' }), ['0=10.1.0.7'], 'an empty list is absent');
});

t.test('routes and resolvConf pass through', async (t) => {
  const cfg = load({
    ranges: r24,
    routes: [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.1.0.1' }],
    resolvConf: '/etc/x',
  });
  t.same(cfg.routes, [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.1.0.1' }]);
  t.equal(cfg.resolvConf, '/etc/x');
});

t.test('DEL and GC need only a data dir: broken ranges do not stop a release', async (t) => {
  const conf = netconf({}, { ranges: [[{ subnet: '10.1.0.5/24' }]], dataDir: '/tmp/x' });
  t.same(loadStoreConfig(conf), { network: 'net1', dataDir: '/tmp/x', setCount: 1, releaseOnReboot: true });
  t.match(
    failure(() => loadStoreConfig(netconf({}, { dataDir: 'x' }))),
    { code: 7 },
  );
});

t.test(
  'overlap checks are sorted sweeps: 32k range sets load at once, and a late overlap is found',
  async (t) => {
    const sets = Array.from({ length: 32_768 }, (_, i) => [{ subnet: `10.${i >> 8}.${i & 255}.0/24` }]);
    let started = Date.now();
    t.equal(load({ ranges: sets }).sets.length, 32_768);
    t.ok(Date.now() - started < 3000, `32,768 disjoint range sets checked in ${Date.now() - started} ms`);
    started = Date.now();
    const clash = failure(() => load({ ranges: [...sets, [{ subnet: '10.127.255.128/25' }]] }));
    t.match(clash, {
      code: 7,
      msg: /^ipam\.ranges\[32768\] \(10\.127\.255\.129-10\.127\.255\.254\) overlaps ipam\.ranges\[32767\]/,
    });
    t.ok(Date.now() - started < 3000, 'and the overlap of the last two found as fast');
    const inSet = Array.from({ length: 20_000 }, (_, i) => ({ subnet: `10.${i >> 8}.${i & 255}.0/24` }));
    t.match(
      failure(() => load({ ranges: [[...inSet, { subnet: '10.0.5.0/24' }]] })),
      {
        code: 7,
        msg: /^ipam\.ranges\[0\]\[20000\] \(10\.0\.5\.1-10\.0\.5\.254\) overlaps ipam\.ranges\[0\]\[5\]/,
      },
    );
  },
);
