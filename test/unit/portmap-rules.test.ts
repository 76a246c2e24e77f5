// portmap's pure parts: config, the planned elements, the held-port check, and reading the table back.
import t from 'tap';
import type { NetConf } from '../../lib/cni/config.js';
import { loadConfig } from '../../plugins/portmap/config.js';
import {
  addScript,
  ownerKey,
  parseTable,
  plannedElements,
  podAddresses,
  refuseHeld,
} from '../../plugins/portmap/rules.js';

const conf = (portMappings: unknown[], extra: Record<string, unknown> = {}) =>
  ({
    name: 'podnet',
    raw: { cniVersion: '1.1.0', name: 'podnet', type: 'portmap', runtimeConfig: { portMappings }, ...extra },
    runtimeConfig: { portMappings },
  }) as unknown as NetConf;
const prev = {
  interfaces: [{ name: 'cni0' }, { name: 'eth0', sandbox: '/run/netns/p' }],
  ips: [
    { address: '10.1.0.9/24', interface: 0 },
    { address: '10.244.1.5/24', interface: 1 },
    { address: 'fd00::5/64', interface: 1 },
  ],
  routes: [],
  dns: {},
};

t.test('the pod addresses: first of each family on a sandbox interface', async (t) => {
  t.same(podAddresses(prev), [
    { family: 4, ip: '10.244.1.5', network: '10.244.1.0/24' },
    { family: 6, ip: 'fd00::5', network: 'fd00::/64' },
  ]);
});

t.test('planned elements per family, hostIP, and SNAT sources', async (t) => {
  const cfg = loadConfig(
    conf([
      { hostPort: 8080, containerPort: 80 },
      { hostPort: 53, containerPort: 5353, protocol: 'UDP', hostIP: '192.0.2.1' },
    ]),
  );
  const els = plannedElements(cfg, podAddresses(prev), 'podnet/c1/eth0');
  t.same(
    els.map((e) => `${e.set} ${e.parts.join(' . ')} ${e.value ?? ''}`),
    [
      'pm4_any tcp . 8080 10.244.1.5 . 80',
      'pm6_any tcp . 8080 fd00::5 . 80',
      'pm4_ip 192.0.2.1 . udp . 53 10.244.1.5 . 5353',
      'pm4_snat 10.244.1.5 . 10.244.1.0/24 ',
      'pm4_snat 10.244.1.5 . 127.0.0.0/8 ',
      'pm6_snat fd00::5 . fd00::/64 ',
    ],
  );
  t.match(
    addScript(els.slice(0, 1)),
    /add element inet cni_suite_portmap pm4_any \{ tcp \. 8080 comment "podnet\/c1\/eth0" : 10\.244\.1\.5 \. 80 \}/,
  );
  const noSnat = plannedElements(
    loadConfig(conf([{ hostPort: 1, containerPort: 1 }], { snat: false })),
    podAddresses(prev),
    'k',
  );
  t.notOk(
    noSnat.some((e) => e.set.endsWith('snat')),
    'snat: false plans no SNAT element',
  );
  t.throws(
    () =>
      plannedElements(
        loadConfig(conf([{ hostPort: 1, containerPort: 1, hostIP: '2001:db8::1' }])),
        [podAddresses(prev)[0]!],
        'k',
      ),
    /portMappings\[0\]\.hostIP 2001:db8::1 is IPv6, but prevResult gives the pod no IPv6 address/,
  );
});

t.test("config: containerd 1.6's Go field names are read as the documented keys", async (t) => {
  const c = {
    name: 'podnet',
    raw: {
      name: 'podnet',
      runtimeConfig: { portMappings: [{ HostPort: 8080, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }] },
    },
    runtimeConfig: {},
  } as unknown as NetConf;
  t.match(loadConfig(c).mappings, [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: undefined },
  ]);
});

t.test('config: hostIP spellings and refusals', async (t) => {
  t.same(
    loadConfig(conf([{ hostPort: 1, containerPort: 1, hostIP: '0.0.0.0' }])).mappings[0],
    {
      hostPort: 1,
      containerPort: 1,
      protocol: 'tcp',
      hostIP: undefined,
      families: [4],
      where: 'runtimeConfig.portMappings[0]',
    },
    '0.0.0.0 is any IPv4 address',
  );
  t.equal(
    loadConfig(conf([{ hostPort: 1, containerPort: 1, hostIP: '2001:DB8:0::1' }])).mappings[0]!.hostIP,
    '2001:db8::1',
    'normalised as nft prints it',
  );
  t.throws(
    () => loadConfig(conf([{ hostPort: 1, containerPort: 1, hostIP: 'x' }])),
    /portMappings\[0\]\.hostIP "x" is not an IP address/,
  );
  t.throws(
    () => loadConfig(conf([{ hostPort: 70000, containerPort: 1 }])),
    /portMappings\[0\]\.hostPort must be <= 65535/,
  );
  t.throws(
    () =>
      loadConfig(
        conf([
          { hostPort: 5, containerPort: 1, hostIP: '::' },
          { hostPort: 5, containerPort: 2 },
        ]),
      ),
    /portMappings\[1\] asks for host port tcp\/5 again \(runtimeConfig\.portMappings\[0\] has it already\)/,
  );
  t.doesNotThrow(
    () =>
      loadConfig(
        conf([
          { hostPort: 5, containerPort: 1, hostIP: '::' },
          { hostPort: 5, containerPort: 2, hostIP: '0.0.0.0' },
        ]),
      ),
    'the two families do not overlap',
  );
});

t.test('a held port is refused naming the holder; its own elements are not', async (t) => {
  const nftables = [
    { table: { name: 'cni_suite_portmap' } },
    { chain: { name: 'pm_dnat' } },
    {
      map: {
        name: 'pm4_ip',
        elem: [
          [
            { elem: { val: { concat: ['192.0.2.1', 'tcp', 8080] }, comment: 'podnet/other/eth0' } },
            { concat: ['10.244.1.7', 80] },
          ],
        ],
      },
    },
    {
      set: {
        name: 'pm4_snat',
        elem: [
          {
            elem: {
              val: { concat: ['10.244.1.7', { prefix: { addr: '10.244.1.0', len: 24 } }] },
              comment: 'podnet/other/eth0',
            },
          },
        ],
      },
    },
  ];
  const table = parseTable(nftables);
  t.same(table.chains, ['pm_dnat']);
  t.same(table.elements, [
    {
      set: 'pm4_ip',
      parts: ['192.0.2.1', 'tcp', '8080'],
      value: '10.244.1.7 . 80',
      owner: 'podnet/other/eth0',
    },
    { set: 'pm4_snat', parts: ['10.244.1.7', '10.244.1.0/24'], value: undefined, owner: 'podnet/other/eth0' },
  ]);
  const want = (m: Record<string, unknown>) =>
    plannedElements(loadConfig(conf([m])), podAddresses(prev), 'podnet/c1/eth0');
  t.throws(
    () => refuseHeld(want({ hostPort: 8080, containerPort: 80 }), table.elements, 'podnet/c1/eth0'),
    {
      code: 106,
      message: /host port tcp\/8080 \(IPv4\) is already mapped to 10\.244\.1\.7:80 for podnet\/other\/eth0/,
    },
    'any address overlaps the held host address',
  );
  t.doesNotThrow(
    () =>
      refuseHeld(
        want({ hostPort: 8080, containerPort: 80, hostIP: '192.0.2.2' }),
        table.elements,
        'podnet/c1/eth0',
      ),
    'another host address is free',
  );
  t.doesNotThrow(
    () =>
      refuseHeld(
        want({ hostPort: 8080, containerPort: 80, protocol: 'udp' }),
        table.elements,
        'podnet/c1/eth0',
      ),
    'another protocol is free',
  );
  t.doesNotThrow(
    () => refuseHeld(want({ hostPort: 8080, containerPort: 80 }), table.elements, 'podnet/other/eth0'),
    'the holder itself may ADD again',
  );
});

t.test('owner keys fit an nft comment', async (t) => {
  t.equal(ownerKey({ network: 'podnet', containerId: 'abc', ifname: 'eth0' }), 'podnet/abc/eth0');
  const long = ownerKey({ network: 'n'.repeat(64), containerId: 'c'.repeat(128), ifname: 'eth0' });
  t.ok(long.length <= 128 && long.startsWith(`${'n'.repeat(64)}/#`), long);
});
