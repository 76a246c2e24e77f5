// The agent's pure parts: the network config, subnets and keys, records, the files it writes, and
// its settings (file + flags).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  conflist,
  parseClusterNetwork,
  parseNodeRecord,
  peersFileText,
  subnetAt,
  subnetCount,
  subnetKey,
} from '../../lib/agent/network.ts';
import { agentOptions, parseFlags } from '../../lib/agent/options.ts';

const net = parseClusterNetwork({ clusterCIDR: '10.244.0.0/16', plugin: { type: 'vxlan', vni: 1 } });

t.test('network config: defaults, subnets and keys', async (t) => {
  t.equal(net.subnetLen, 24, 'subnetLen defaults to 24');
  t.equal(net.portmap, true, 'portmap is chained by default');
  t.equal(subnetCount(net), 256);
  t.equal(subnetAt(net, 0), '10.244.0.0/24');
  t.equal(subnetAt(net, 255), '10.244.255.0/24');
  const small = parseClusterNetwork({
    clusterCIDR: '10.250.0.0/20',
    subnetLen: 26,
    plugin: { type: 'bridge-route' },
  });
  t.equal(subnetCount(small), 64);
  t.equal(subnetAt(small, 5), '10.250.1.64/26');
  t.equal(subnetKey('/cni-suite/podnet', '10.244.3.0/24'), '/cni-suite/podnet/subnets/10.244.3.0-24');
});

t.test('network config: each bad value names its field', async (t) => {
  const bad: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{ clusterCIDR: '10.244.0.0/16', plugin: { type: 'vxlan' }, extra: 1 }, /unknown key "extra"/],
    [{ plugin: { type: 'vxlan' } }, /clusterCIDR must be an IPv4 CIDR/],
    [
      { clusterCIDR: '10.244.0.1/16', plugin: { type: 'vxlan' } },
      /clusterCIDR "10\.244\.0\.1\/16" has host bits set; use "10\.244\.0\.0\/16"/,
    ],
    [{ clusterCIDR: 'fd00::/48', plugin: { type: 'vxlan' } }, /must be IPv4/],
    [
      { clusterCIDR: '10.244.0.0/16', subnetLen: 8, plugin: { type: 'vxlan' } },
      /subnetLen 8 is shorter than clusterCIDR/,
    ],
    [
      { clusterCIDR: '10.244.0.0/16', subnetLen: 24.5, plugin: { type: 'vxlan' } },
      /subnetLen must be an integer/,
    ],
    [{ clusterCIDR: '10.244.0.0/16', plugin: 'vxlan' }, /plugin must be an object/],
    [{ clusterCIDR: '10.244.0.0/16', plugin: { type: 'macvlan' } }, /plugin\.type must be one of/],
    [
      { clusterCIDR: '10.244.0.0/16', plugin: { type: 'vxlan', ipam: {} } },
      /plugin\.ipam: the agent sets this itself/,
    ],
    [
      { clusterCIDR: '10.244.0.0/16', plugin: { type: 'vxlan' }, portmap: 'yes' },
      /portmap must be true or false/,
    ],
  ];
  for (const [raw, msg] of bad) t.throws(() => parseClusterNetwork(raw), msg, JSON.stringify(raw));
});

t.test('records, the peers file and the conflist', async (t) => {
  t.same(parseNodeRecord('{"name":"n1","nodeIP":"192.168.1.1","podCIDR":"10.244.1.0/24"}'), {
    name: 'n1',
    nodeIP: '192.168.1.1',
    podCIDR: '10.244.1.0/24',
  });
  for (const v of ['nope', '{"name":"n1"}', '{"name":"n1","nodeIP":"x","podCIDR":"10.244.1.0/24"}'])
    t.equal(parseNodeRecord(v), undefined, `not a record: ${v}`);
  const records = [
    { name: 'n10', nodeIP: '192.168.1.10', podCIDR: '10.244.10.0/24' },
    { name: 'me', nodeIP: '192.168.1.1', podCIDR: '10.244.1.0/24' },
    { name: 'n2', nodeIP: '192.168.1.2', podCIDR: '10.244.2.0/24' },
  ];
  const text = peersFileText(records, 'me');
  t.same(
    JSON.parse(text).map((p: { name: string }) => p.name),
    ['n2', 'n10'],
    'the other hosts, in subnet order (numeric)',
  );
  t.equal(peersFileText([...records].reverse(), 'me'), text, 'the same set gives the same bytes');
  const list = conflist(net, {
    network: 'podnet',
    podCIDR: '10.244.7.0/24',
    peersFile: '/p.json',
    ipamDataDir: undefined,
  });
  t.same(list, {
    cniVersion: '1.0.0',
    name: 'podnet',
    plugins: [
      {
        type: 'vxlan',
        vni: 1,
        clusterCIDR: '10.244.0.0/16',
        peersFile: '/p.json',
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.7.0/24' }]] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
});

t.test('settings: the file, flags winning, defaults, errors naming key and flag', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-agent-unit-'));
  const file = join(dir, 'agent.json');
  writeFileSync(
    file,
    JSON.stringify({ network: 'podnet', etcdEndpoints: ['http://10.0.0.5:2379'], leaseTTL: 600 }),
  );
  const o = agentOptions(parseFlags(['--config', file, '--lease-ttl', '30', '--node-name', 'n1']));
  t.equal(o.network, 'podnet');
  t.same(o.etcd.endpoints, ['http://10.0.0.5:2379'], 'from the file');
  t.equal(o.leaseTTL, 30, 'the flag wins over the file');
  t.equal(o.prefix, '/cni-suite/podnet', 'prefix default');
  t.equal(o.conflist, '/etc/cni/net.d/10-podnet.conflist', 'conflist default');
  t.equal(o.peersFile, '/var/lib/cni-suite/agent/podnet-peers.json', 'peersFile default');
  t.equal(o.nodeIP, undefined, 'nodeIP is found at start when not given');
  const flagsOnly = agentOptions(
    parseFlags(['--network', 'x', '--etcd-endpoints', 'http://a:1,https://b:2']),
  );
  t.same(flagsOnly.etcd.endpoints, ['http://a:1', 'https://b:2'], 'a comma list');
  t.equal(flagsOnly.leaseTTL, 86_400, 'leaseTTL defaults to 24 h');

  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ network: 'podnet', etcdEndpoint: 'x' }));
  const bad: [string[], RegExp][] = [
    [[], /network \(--network\) is required/],
    [['--network', 'a b'], /network \(--network\)/],
    [['--network', 'n', '--prefix', 'rel'], /prefix \(--prefix\) "rel" must start with "\/"/],
    [
      ['--network', 'n', '--etcd-timeout', '0'],
      /etcdTimeout \(--etcd-timeout\) must be a whole number of at least 1/,
    ],
    [['--network', 'n', '--etcd-username', 'u'], /etcdUsername \(--etcd-username\) and etcdPassword/],
    [['--network', 'n', '--etcd-cert', 'c', '--etcd-key', 'k'], /etcdCert \(--etcd-cert\) needs etcdCA/],
    [['--config', join(dir, 'bad.json')], /unknown key "etcdEndpoint"/],
    [['--config', join(dir, 'missing.json')], /--config ".*missing\.json" cannot be read: ENOENT/],
  ];
  for (const [args, msg] of bad) t.throws(() => agentOptions(parseFlags(args)), msg, args.join(' '));
});
