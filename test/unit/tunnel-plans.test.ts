// gre's and ipvlan-l3's plans: pure functions of config, peers, attachment and IPAM result (their
// real behaviour is tested inside the Debian kernel, test/kernel).
import t from 'tap';
import type { NetConf } from '../../lib/cni/config.js';
import type { HostObject, LinkSpec } from '../../lib/plan/model.js';
import { loadConfig as loadGre } from '../../plugins/gre/config.js';
import { plan as grePlan, tunnelName } from '../../plugins/gre/plan.js';
import { loadConfig as loadIpvlan } from '../../plugins/ipvlan-l3/config.js';
import { plan as ipvlanPlan, shimAddress } from '../../plugins/ipvlan-l3/plan.js';

const conf = (type: string, extra: Record<string, unknown> = {}) =>
  ({
    name: 'podnet',
    raw: {
      cniVersion: '1.1.0',
      name: 'podnet',
      type,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]] },
      ...extra,
    },
  }) as unknown as NetConf;
const peers = [
  { name: 'h1', nodeIP: '192.168.1.11', podCIDR: '10.244.1.0/24' },
  { name: 'h2', nodeIP: '192.168.2.12', podCIDR: '10.244.2.0/24' },
  { name: 'h3', nodeIP: '192.168.3.13', podCIDR: '10.244.3.0/24' },
];
const att = { network: 'podnet', containerId: 'c1', ifname: 'eth0' };
const uplink = { dev: 'eth0', found: true, mtu: 1500, mac: '02:00:00:00:00:11', addrs: ['192.168.1.11/24'] };
const ipam = {
  interfaces: [],
  ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.1' }],
  routes: [],
  dns: {},
};
const base = { peers, att, netns: '/run/netns/pod', uplink, remote: true, args: {}, ipam };
const links = (objs: HostObject[]) => objs.filter((o): o is LinkSpec => o.kind === 'link');

t.test('gre l3: a GRE device per other host and a route into it; MTU underlay − 24', async (t) => {
  const p = grePlan({ ...base, cfg: loadGre(conf('gre')) });
  const tunnels = links(p.shared).filter((l) => l.type === 'gre');
  t.same(
    tunnels.map((l) => [l.name, l.alias, l.data]),
    ['192.168.2.12', '192.168.3.13'].map((ip) => [
      tunnelName({ network: 'podnet', mode: 'l3' }, ip),
      `cni-suite-peer/podnet/${ip}`,
      { local: '192.168.1.11', remote: ip },
    ]),
    'none to this host itself',
  );
  t.match(tunnels[0]?.name, /^gr[0-9a-f]{13}$/);
  t.same(tunnels[0]?.attrs, ['local', '192.168.1.11', 'remote', '192.168.2.12', 'ttl', '64', 'dev', 'eth0']);
  t.match(
    p.shared.filter((o) => o.kind === 'route'),
    [
      { dst: '10.244.2.0/24', dev: tunnels[0]?.name },
      { dst: '10.244.3.0/24', dev: tunnels[1]?.name },
    ],
  );
  t.equal(links(p.shared).find((l) => l.type === 'bridge')?.mtu, 1476);
  t.equal(
    links(grePlan({ ...base, cfg: loadGre(conf('gre', { key: 7 })) }).shared)[0]?.mtu,
    1472,
    'a key adds 4',
  );
  t.same(
    links(grePlan({ ...base, remote: false, cfg: loadGre(conf('gre')) }).shared).map((l) => l.type),
    ['bridge'],
    'peers out of scope (digest unchanged): no tunnel planned',
  );
});

t.test('gre l2: isolated gretap ports on the bridge, no routes; MTU underlay − 38', async (t) => {
  const p = grePlan({ ...base, cfg: loadGre(conf('gre', { mode: 'l2' })) });
  t.match(
    links(p.shared).filter((l) => l.type === 'gretap'),
    [
      { name: /^gt[0-9a-f]{13}$/, master: 'cni0', isolated: true, mtu: 1462 },
      { name: /^gt[0-9a-f]{13}$/, master: 'cni0', isolated: true, mtu: 1462 },
    ],
  );
  t.same(
    p.shared.filter((o) => o.kind === 'route'),
    [],
  );
});

t.test(
  'gre on an IPv6 underlay: ip6gre without the encapsulation limit; a v4 peer is an error',
  async (t) => {
    const v6 = { ...uplink, addrs: ['fd00::11/64'] };
    const v6peers = [{ name: 'h2', nodeIP: 'fd00::12', podCIDR: '10.244.2.0/24' }];
    const p = grePlan({ ...base, uplink: v6, peers: v6peers, cfg: loadGre(conf('gre')) });
    t.match(links(p.shared), [
      { type: 'bridge', mtu: 1456 },
      { type: 'ip6gre', attrs: /encaplimit/ },
    ]);
    t.match(links(p.shared)[1]?.attrs, [
      'local',
      'fd00::11',
      'remote',
      'fd00::12',
      'ttl',
      '64',
      'encaplimit',
      'none',
    ]);
    t.throws(() => grePlan({ ...base, uplink: v6, cfg: loadGre(conf('gre')) }), {
      code: 7,
      message: /peer "h1": nodeIP 192.168.1.11 is not of the family/,
    });
  },
);

t.test('ipvlan-l3: the child made for the pod, device routes, peer routes, the shim', async (t) => {
  const p = ipvlanPlan({ ...base, cfg: loadIpvlan(conf('ipvlan-l3')) });
  t.match(p.hostLinks, [
    {
      name: 'eth0',
      type: 'ipvlan',
      parent: 'eth0',
      netns: '/run/netns/pod',
      hostName: /^cx[0-9a-f]{13}$/,
      mtu: 1500,
    },
  ]);
  t.same(p.ips, [{ address: '10.244.1.5/24', interface: 0 }], 'no gateway in L3');
  t.same(p.routes, [{ dst: '0.0.0.0/0' }]);
  t.match(p.pod, [
    { kind: 'addr', cidr: '10.244.1.5/24' },
    { kind: 'link', data: { mode: 'l3' } },
    { kind: 'route', dst: '0.0.0.0/0', dev: 'eth0' },
  ]);
  t.equal(shimAddress('10.244.1.0/24'), '10.244.1.1');
  t.equal(shimAddress('fd00:1::/64'), 'fd00:1::1');
  t.match(p.shared, [
    { kind: 'link', type: 'ipvlan', parent: 'eth0', whileUsed: true },
    { kind: 'addr', cidr: '10.244.1.1/32' },
    { kind: 'route', dst: '10.244.1.0/24' },
    { kind: 'route', dst: '10.244.2.0/24', via: '192.168.2.12', peer: 'h2' },
    { kind: 'route', dst: '10.244.3.0/24', via: '192.168.3.13', peer: 'h3' },
  ]);
  t.equal(p.firewall, undefined, 'no NAT unless asked for');
  t.same(
    ipvlanPlan({ ...base, cfg: loadIpvlan(conf('ipvlan-l3', { hostShim: false })) }).shared.map(
      (o) => o.kind,
    ),
    ['route', 'route'],
    'without the shim: the peer routes only',
  );
});

t.test('ipvlan-l3 config: NAT and filtering need l3s; mtu within the master', async (t) => {
  t.throws(() => loadIpvlan(conf('ipvlan-l3', { ipMasq: true })), {
    code: 7,
    message: /ipMasq needs mode "l3s"/,
  });
  t.throws(() => loadIpvlan(conf('ipvlan-l3', { internal: true })), {
    code: 7,
    message: /internal needs mode "l3s"/,
  });
  const l3s = ipvlanPlan({ ...base, cfg: loadIpvlan(conf('ipvlan-l3', { mode: 'l3s', ipMasq: true })) });
  t.match(l3s.firewall, { fragments: [{ kind: 'masquerade' }] });
  t.throws(() => ipvlanPlan({ ...base, cfg: loadIpvlan(conf('ipvlan-l3', { mtu: 9000 })) }), {
    code: 7,
    message: /mtu 9000 is above the MTU 1500 of master "eth0"/,
  });
  t.throws(
    () => ipvlanPlan({ ...base, uplink: { ...uplink, found: false }, cfg: loadIpvlan(conf('ipvlan-l3')) }),
    {
      code: 7,
      message: /master is not set and this host has no default route/,
    },
  );
});
