// bridge-route's plan: a pure function of config, peers, attachment and IPAM result.
import t from 'tap';
import type { NetConf } from '../../lib/cni/config.js';
import { loadBridgedConfig as loadConfig } from '../../lib/plan/bridged.js';
import { networkScript, unmatchedAddresses } from '../../lib/plan/firewall.js';
import type { HostObject } from '../../lib/plan/model.js';
import { plan } from '../../plugins/bridge-route/plan.js';

const conf = (extra: Record<string, unknown> = {}) => {
  const raw = {
    cniVersion: '1.0.0',
    name: 'podnet',
    type: 'bridge-route',
    clusterCIDR: '10.244.0.0/16',
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]] },
    ...extra,
  };
  return { name: 'podnet', raw } as unknown as NetConf;
};
const peers = [
  { name: 'h1', nodeIP: '192.168.1.11', podCIDR: '10.244.1.0/24' },
  { name: 'h2', nodeIP: '192.168.1.12', podCIDR: '10.244.2.0/24' },
];
const att = { network: 'podnet', containerId: 'c1', ifname: 'eth0' };
const ipam = {
  interfaces: [],
  ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.1' }],
  routes: [],
  dns: { nameservers: ['10.96.0.10'] },
};
const input = (extra: Record<string, unknown> = {}) => ({
  cfg: loadConfig(conf(extra)),
  peers,
  att,
  netns: '/run/netns/pod',
  uplink: { dev: 'eth0', found: true, mtu: 1400, mac: '02:00:00:00:00:11', addrs: ['192.168.1.11/24'] },
  remote: true,
  args: {},
});
const kinds = (objs: HostObject[]) => objs.map((o) => o.kind);

t.test('before IPAM answers: the bridge, the veth, the peer routes (not to this host itself)', async (t) => {
  const p = plan({ ...input(), ipam: undefined });
  t.match(p.shared, [
    { kind: 'link', name: 'cni0', type: 'bridge', mtu: 1400 },
    { kind: 'route', dst: '10.244.2.0/24', via: '192.168.1.12', peer: 'h2' },
  ]);
  t.equal(p.shared.length, 2);
  t.match(p.hostLinks, [
    {
      name: /^vb[0-9a-f]{13}$/,
      type: 'veth',
      master: 'cni0',
      mtu: 1400,
      alias: 'cni-suite/podnet/c1/eth0',
      peer: { name: 'eth0', netns: '/run/netns/pod', mtu: 1400 },
    },
  ]);
  t.same(plan({ ...input(), ipam: undefined }), p, 'the same inputs give the same plan (MACs included)');
});

t.test('with IPAM: gateway on the bridge, forwarding, pod addresses and default route, result', async (t) => {
  const p = plan({ ...input(), ipam });
  t.same(kinds(p.shared), ['link', 'sysctl', 'addr', 'route']);
  t.match(p.shared[2], { kind: 'addr', dev: 'cni0', cidr: '10.244.1.1/24' });
  t.same(p.pod, [
    { kind: 'addr', dev: 'eth0', cidr: '10.244.1.5/24' },
    { kind: 'link', name: 'eth0', type: 'veth' },
    { kind: 'route', dst: '0.0.0.0/0', via: '10.244.1.1', dev: 'eth0' },
  ]);
  t.match(p.interfaces, [
    { name: 'cni0' },
    { name: /^vb/, mac: /^[0-9a-f:]{17}$/ },
    { name: 'eth0', sandbox: '/run/netns/pod' },
  ]);
  t.same(p.ips, [{ address: '10.244.1.5/24', gateway: '10.244.1.1', interface: 2 }]);
  t.same(p.dns, { nameservers: ['10.96.0.10'] });
  t.same(p.firewall?.cluster, ['10.244.0.0/16', '10.244.1.0/24', '10.244.1.0/24', '10.244.2.0/24']);
});

t.test(
  'isGateway false: no gateway address, no default route; podCIDR wins over the ipam guess',
  async (t) => {
    const p = plan({
      ...input({ isGateway: false, isDefaultGateway: false, podCIDR: '10.244.2.0/24' }),
      ipam,
    });
    t.same(kinds(p.shared), ['link', 'route'], 'the route to h1, since this host is 10.244.2.0/24');
    t.match(p.shared[1], { dst: '10.244.1.0/24', via: '192.168.1.11' });
    t.same(kinds(p.pod), ['addr', 'link']);
    t.same(p.ips, [{ address: '10.244.1.5/24', gateway: undefined, interface: 2 }]);
  },
);

t.test(
  'without remote (inputs already converged): no route to other hosts, the rest unchanged',
  async (t) => {
    const full = plan({ ...input(), ipam });
    const flat = plan({ ...input(), remote: false, ipam });
    t.same(
      flat.shared,
      full.shared.filter((o) => o.kind !== 'route'),
    );
    t.same(
      { ...flat, shared: [] },
      { ...full, shared: [] },
      'links, pod objects, firewall and result are the same',
    );
  },
);

t.test('firewall fragments follow the config; the script removes the chains not asked for', async (t) => {
  const frag = (extra: Record<string, unknown>) => plan({ ...input(extra), ipam }).firewall!;
  t.same(frag({}).fragments, [{ kind: 'masquerade' }]);
  t.same(frag({ ipMasq: false }).fragments, []);
  t.same(frag({ internal: true }).fragments, [{ kind: 'internal' }], 'internal wins over ipMasq');
  const iso = frag({ isolation: 'bridge', isolationAllow: [{ from: '10.244.1.2/32', to: '10.244.1.0/28' }] });
  t.same(iso.fragments, [
    { kind: 'masquerade' },
    { kind: 'isolation', allow: [{ from: '10.244.1.2/32', to: '10.244.1.0/28' }] },
  ]);
  const script = networkScript(iso);
  t.match(
    script,
    /add rule inet cni_suite n\w+_post ip saddr \{ 10\.244\.1\.0\/24 \} ip daddr != @n\w+_cluster4 masquerade fully-random\n/,
    "pod traffic is matched by this host's pod subnet",
  );
  t.notMatch(script, /saddr @|ip6 saddr/, 'not by the pod sets, and no IPv6 rule without an IPv6 subnet');
  t.match(script, /delete chain inet cni_suite n\w+_fwd\n/, 'the internal chain goes');
  t.match(
    script,
    /add rule bridge cni_suite n\w+_iso meta iifgroup \d+ meta oifgroup \d+ ip saddr 10\.244\.1\.2\/32/,
  );
  t.notMatch(networkScript(frag({})), /add rule bridge/, 'no isolation rule without isolation');
  const podSetFlush = /flush set inet cni_suite n\w+_pods4\nflush set inet cni_suite n\w+_pods6\n/;
  t.match(networkScript(frag({ ipMasq: false })), podSetFlush, 'no rule reads the pod sets: emptied');
  t.match(networkScript(frag({})), podSetFlush, 'masquerade by the pod subnets: emptied too');
  // An IPAM the config does not describe (ranges from runtimeConfig.ipRanges): the pod sets it is.
  const unnamed = (extra: Record<string, unknown>) => frag({ ipam: { type: 'host-local' }, ...extra });
  t.same(unnamed({}).podCIDRs, [], 'no pod subnet named');
  t.match(
    networkScript(unnamed({})),
    /add rule inet cni_suite n\w+_post ip saddr @n\w+_pods4 ip daddr != @n\w+_cluster4 masquerade fully-random\n.*ip6 saddr @n\w+_pods6 /,
    'then masquerade reads the pod sets',
  );
  t.notMatch(networkScript(unnamed({})), podSetFlush, 'which are kept');
  t.notMatch(networkScript(unnamed({ internal: true })), podSetFlush, 'internal reads them too: kept');
  t.match(networkScript(unnamed({ ipMasq: false })), podSetFlush, 'no rule reads them: emptied');
  // ADD warns about an address the subnet rules miss (IPAM handing out beyond podCIDR).
  const addresses = ['10.244.1.5/24', '10.9.0.5/24'];
  t.same(unmatchedAddresses(frag({}), addresses), ['10.9.0.5/24'], 'outside podCIDR: not masqueraded');
  t.same(unmatchedAddresses(frag({ ipMasq: false }), addresses), [], 'no rule reads pods: nothing missed');
  t.same(unmatchedAddresses(unnamed({}), addresses), [], 'pod sets: every address is an element');
});

t.test('config errors name the field', async (t) => {
  const code7 = (extra: Record<string, unknown>, msg: RegExp) =>
    t.throws(() => loadConfig(conf(extra)), { code: 7, message: msg });
  code7(
    { peers: [{ name: 'x', nodeIP: '192.168.1.9', podCIDR: '10.244.9.5/24' }] },
    /peers\[0\]\.podCIDR "10\.244\.9\.5\/24" has host bits set; use "10\.244\.9\.0\/24"/,
  );
  code7({ podCIDR: '10.244.1.1/24' }, /podCIDR "10\.244\.1\.1\/24" has host bits set/);
  code7({ clusterCIDR: ['10.244.0.0/16', 'x'] }, /clusterCIDR\[1\] "x" is not a CIDR/);
  code7({ mtu: 20 }, /mtu must be >= 68/);
  code7({ bridge: 'br#1' }, /bridge must match pattern/);
});
