// portmap on the real kernel: chained after a network plugin on a host behind a router (the
// "outside", which also has IPv6), with real TCP and UDP through the host's ports.
import { execa } from 'execa';
import t from 'tap';
import { Cluster, type ClusterHost } from '../helpers/cluster.js';
import { inNs, ip, type Netns } from '../helpers/lab.js';
import { BIN, bin, callPlugin, type PluginCall, runChain } from '../helpers/plugin.js';
import { tcpSend, tcpServer, udpAsk, udpServer } from '../helpers/tcp.js';

type Json = Record<string, unknown>;
interface Mapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

const portmapConf = (mappings: Mapping[] | undefined, extra: Json = {}): Json => ({
  cniVersion: '1.0.0',
  name: 'podnet',
  type: 'portmap',
  capabilities: { portMappings: true },
  ...(mappings ? { runtimeConfig: { portMappings: mappings } } : {}),
  ...extra,
});

/**
 * The host's network config with one IPv4 and one IPv6 address per pod, and hairpin on the pods'
 * bridge ports: with br_netfilter loaded (as here) a DNATed frame is bridged back out of the port it
 * came in, which a pod reaching itself through its host port needs.
 */
const dualStack = (c: Cluster, h: ClusterHost): Json =>
  c.conf(h, {
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: h.podCIDR }], [{ subnet: `fd00:244:${c.hosts.indexOf(h) + 1}::/64` }]],
      dataDir: h.dataDir,
    },
  });

interface MappedPod extends Netns {
  call: Omit<PluginCall, 'command'>;
  result: Json;
  v4: string;
  v6: string | undefined;
}

/** A pod attached by `net` (default: ours, dual-stack) with portmap chained after it. */
async function addMapped(
  t: { teardown(fn: () => unknown): void },
  c: Cluster,
  h: ClusterHost,
  name: string,
  mappings: Mapping[],
  net = { file: bin(c.opts.plugin ?? 'bridge-route'), conf: dualStack(c, h) },
): Promise<MappedPod> {
  const ns = await c.lab.container(name);
  const call = {
    containerId: `${c.lab.prefix}-${name}`,
    netns: ns.path,
    ifname: 'eth0',
    hostNetns: h.name,
    path: `${BIN}:/usr/lib/cni`,
  };
  const add = await runChain('ADD', [net, { file: bin('portmap'), conf: portmapConf(mappings) }], call);
  if (add.failed) throw new Error(`ADD ${name}: ${add.failed.stdout}`);
  const ips = (add.result!.ips as { address: string }[]).map((i) => i.address.split('/')[0]!);
  t.teardown(() => runChain('DEL', [net, { file: bin('portmap'), conf: portmapConf(undefined) }], call));
  return {
    ...ns,
    call,
    result: add.result!,
    v4: ips.find((a) => !a.includes(':'))!,
    v6: ips.find((a) => a.includes(':')),
  };
}

const portmap = (h: ClusterHost, command: string, pod: { call: Omit<PluginCall, 'command'> }, conf: Json) =>
  callPlugin('portmap', conf, { ...pod.call, command, hostNetns: h.name });

const ruleset = async (h: ClusterHost) => (await inNs(h.name, 'nft', ['list', 'ruleset'])).stdout;
const portmapTable = async (h: ClusterHost) =>
  (await inNs(h.name, 'nft', ['list', 'table', 'inet', 'cni_suite_portmap'], { reject: false })).stdout;

t.test(
  'outside, host, localhost and hairpin reach the pod through its host port; IPv4 and IPv6',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
    const [h1] = c.hosts as [ClusterHost];
    const web = [
      { hostPort: 8080, containerPort: 80 },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' },
    ];
    const a = await addMapped(t, c, h1, 'a', web);
    const b = await addMapped(t, c, h1, 'b', []);
    t.match(
      a.result,
      { ips: [{ address: /^10\.244\.1\./ }, { address: /^fd00:244:1::/ }] },
      'the result is prevResult',
    );
    t.ok(a.v6, 'the pod has an IPv6 address');
    await tcpServer(a.name, 80);
    await udpServer(a.name, 53, 'a');

    const router = c.outside.name;
    t.same(
      await tcpSend(router, h1.ip, 8080, 3000),
      { from: '172.16.1.1', bytes: 3000 },
      'outside → host:8080 (TCP, IPv4); the pod sees the client',
    );
    t.same(
      await tcpSend(router, h1.ip6!, 8080, 3000),
      { from: 'fd00:16:1::1', bytes: 3000 },
      'outside → [host]:8080 (TCP, IPv6)',
    );
    t.equal(await udpAsk(router, h1.ip, 5353, 40001), 'a 172.16.1.1', 'outside → host:5353 (UDP, IPv4)');
    t.equal(
      await udpAsk(router, h1.ip6!, 5353, 40002),
      'a fd00:16:1::1',
      'outside → [host]:5353 (UDP, IPv6)',
    );
    t.equal(await tcpSend(router, h1.ip, 8081, 10), undefined, 'a port that is not mapped is not forwarded');

    t.match(await tcpSend(h1.name, h1.ip, 8080, 10), { bytes: 10 }, 'the host → its own address:8080');
    t.match(await tcpSend(h1.name, '127.0.0.1', 8080, 10), { bytes: 10 }, 'the host → 127.0.0.1:8080');
    t.same(
      await tcpSend(b.name, h1.ip, 8080, 10),
      { from: '10.244.1.1', bytes: 10 },
      'hairpin: pod b → host:8080 → pod a (masqueraded to the bridge address)',
    );
    t.match(await tcpSend(a.name, h1.ip, 8080, 10), { bytes: 10 }, 'hairpin: pod a → host:8080 → itself');
    t.match(await tcpSend(b.name, `${h1.ip6}`, 8080, 10), { bytes: 10 }, 'hairpin over IPv6');

    t.equal(
      (await portmap(h1, 'CHECK', a, { ...portmapConf(web), prevResult: a.result })).exitCode,
      0,
      'CHECK passes',
    );
    await inNs(h1.name, 'nft', [
      'delete',
      'element',
      'inet',
      'cni_suite_portmap',
      'pm4_any',
      '{ tcp . 8080 }',
    ]);
    t.match(
      (await portmap(h1, 'CHECK', a, { ...portmapConf(web), prevResult: a.result })).json,
      { code: 103, msg: /pm4_any element tcp \. 8080 → 10\.244\.1\.\d+ \. 80 is missing/ },
      'CHECK finds the element removed by hand',
    );
    t.equal(await tcpSend(router, h1.ip, 8080, 10), undefined, 'and the mapping is really gone');
    t.equal(
      (await runChain('ADD', [{ file: bin('portmap'), conf: portmapConf(web) }], a.call, a.result)).failed,
      undefined,
      'a repeated ADD of the same attachment',
    );
    t.match(await tcpSend(router, h1.ip, 8080, 10), { bytes: 10 }, 'puts it back');
  },
);

t.test('hostIP restricts the mapping to that address', async (t) => {
  const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
  const [h1] = c.hosts as [ClusterHost];
  await ip(['addr', 'add', '172.16.1.3/24', 'dev', 'eth0'], h1.name);
  const a = await addMapped(t, c, h1, 'a', [{ hostPort: 8080, containerPort: 80, hostIP: '172.16.1.3' }]);
  await tcpServer(a.name, 80);
  t.match(
    await tcpSend(c.outside.name, '172.16.1.3', 8080, 10),
    { bytes: 10 },
    'outside → hostIP:8080 reaches the pod',
  );
  t.equal(
    await tcpSend(c.outside.name, h1.ip, 8080, 10),
    undefined,
    "outside → the host's other address:8080 does not",
  );
  t.equal(await tcpSend(c.outside.name, h1.ip6!, 8080, 10), undefined, 'nor its IPv6 address');
});

t.test(
  'a host port held by another pod: the second ADD fails naming the holder; the first keeps it',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
    const [h1] = c.hosts as [ClusterHost];
    const a = await addMapped(t, c, h1, 'a', [{ hostPort: 8080, containerPort: 80 }]);
    await tcpServer(a.name, 80);
    const before = await portmapTable(h1);
    for (const [what, m] of [
      ['any address', { hostPort: 8080, containerPort: 81 }],
      ['one host address', { hostPort: 8080, containerPort: 81, hostIP: h1.ip }],
      ['IPv6 only', { hostPort: 8080, containerPort: 81, hostIP: '::' }],
    ] as const) {
      const ns = await c.lab.container(`b${what.length}`);
      const r = await portmap(
        h1,
        'ADD',
        { call: { ...a.call, containerId: 'second', netns: ns.path } },
        { ...portmapConf([m]), prevResult: a.result },
      );
      t.match(
        r.json,
        {
          code: 106,
          msg: new RegExp(
            `host port tcp/8080.* is already mapped to (10\\.244\\.1\\.\\d+|fd00:244:1::\\w+):80 for podnet/${a.call.containerId}/eth0`,
          ),
        },
        `refused for ${what}, naming the holder`,
      );
      t.equal(r.exitCode, 1);
    }
    t.equal(await portmapTable(h1), before, 'the table is unchanged');
    t.match(
      await tcpSend(c.outside.name, h1.ip, 8080, 10),
      { bytes: 10 },
      'the first pod still gets the traffic',
    );
    const other = await addMapped(t, c, h1, 'c', [{ hostPort: 8080, containerPort: 80, protocol: 'udp' }]);
    t.ok(other.v4, 'the same port over UDP is free');
  },
);

t.test('UDP: a pod replaced by a new one with the same mapping gets the next datagram at once', async (t) => {
  const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
  const [h1] = c.hosts as [ClusterHost];
  const dns = [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }];
  const old = await addMapped(t, c, h1, 'old', dns);
  await udpServer(old.name, 53, 'old');
  t.equal(await udpAsk(c.outside.name, h1.ip, 5353, 40000), 'old 172.16.1.1', 'the old pod answers');
  const net = { file: bin('bridge-route'), conf: dualStack(c, h1) };
  t.notOk(
    (await runChain('DEL', [net, { file: bin('portmap'), conf: portmapConf(dns) }], old.call, old.result))
      .failed,
    'DEL of the old pod',
  );
  t.equal(
    await udpAsk(c.outside.name, h1.ip, 5353, 40000),
    undefined,
    'nobody answers meanwhile (and conntrack keeps that flow)',
  );
  const conntrack = (
    await inNs(h1.name, 'conntrack', ['-L', '-p', 'udp', '--orig-port-dst', '5353'], { reject: false })
  ).stdout;
  t.match(conntrack, /dport=5353/, 'the flow is tracked while no pod has the port');
  const fresh = await addMapped(t, c, h1, 'new', dns);
  await udpServer(fresh.name, 53, 'new');
  t.equal(
    await udpAsk(c.outside.name, h1.ip, 5353, 40000),
    'new 172.16.1.1',
    'the same flow reaches the new pod',
  );
});

t.test("UDP: DEL flushes the conntrack entries of the pod's mappings", async (t) => {
  const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
  const [h1] = c.hosts as [ClusterHost];
  const dns = [{ hostPort: 5354, containerPort: 53, protocol: 'udp' }];
  const tcp = [{ hostPort: 8081, containerPort: 80 }];
  const old = await addMapped(t, c, h1, 'old', [...dns, ...tcp]);
  await udpServer(old.name, 53, 'old');
  t.equal(
    await udpAsk(c.outside.name, h1.ip, 5354, 40010),
    'old 172.16.1.1',
    'the pod answers on its host port',
  );
  const tracked = async () =>
    (await inNs(h1.name, 'conntrack', ['-L', '-p', 'udp', '--orig-port-dst', '5354'], { reject: false }))
      .stdout;
  t.match(
    await tracked(),
    new RegExp(`dport=5354 .*src=${old.v4!.replace(/\./g, '\\.')}`),
    'the control: conntrack holds the DNATed flow',
  );
  const net = { file: bin('bridge-route'), conf: dualStack(c, h1) };
  const del = await runChain(
    'DEL',
    [net, { file: bin('portmap'), conf: portmapConf([...dns, ...tcp]) }],
    old.call,
    old.result,
  );
  t.notOk(del.failed, 'DEL');
  t.notMatch(await tracked(), /dport=5354/, 'after DEL no entry sends the port to the old pod');
});

t.test("every masquerade is fully-random: the network's and portmap's hairpin", async (t) => {
  const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
  const [h1] = c.hosts as [ClusterHost];
  await addMapped(t, c, h1, 'fr', [{ hostPort: 8082, containerPort: 80 }]);
  const rules = await ruleset(h1);
  const masquerades = rules.split('\n').filter((l) => /\bmasquerade\b/.test(l));
  t.ok(masquerades.length >= 3, `the network's two (IPv4, IPv6) and portmap's: ${masquerades.length}`);
  for (const l of masquerades) t.match(l, /masquerade fully-random/, l.trim());
});

t.test('DEL needs no runtimeConfig, prevResult or netns; twice is fine; GC removes the stale', async (t) => {
  const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
  const [h1] = c.hosts as [ClusterHost];
  const a = await addMapped(t, c, h1, 'a', [{ hostPort: 8080, containerPort: 80 }]);
  await addMapped(t, c, h1, 'b', [{ hostPort: 8081, containerPort: 80 }]);
  t.match(
    await portmapTable(h1),
    /comment "podnet\/.*-a\/eth0"[\s\S]*comment "podnet\/.*-b\/eth0"/,
    'both are mapped',
  );
  const bare = portmapConf(undefined);
  t.equal(
    (await portmap(h1, 'DEL', { call: { ...a.call, netns: '' } }, bare)).exitCode,
    0,
    'DEL with no runtimeConfig, prevResult or netns',
  );
  t.notMatch(await portmapTable(h1), /-a\/eth0/, "a's elements are gone");
  t.match(await portmapTable(h1), /-b\/eth0/, "b's are not");
  t.equal((await portmap(h1, 'DEL', a, bare)).exitCode, 0, 'DEL again');
  const gc = await portmap(h1, 'GC', a, { ...bare, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] });
  t.equal(gc.exitCode, 0, 'GC with no valid attachment');
  t.equal(await portmapTable(h1), '', 'removes the rest, and the table with it');
});

t.test('bad portMappings give code 7 naming the entry, and change nothing', async (t) => {
  const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
  const [h1] = c.hosts as [ClusterHost];
  const a = await addMapped(t, c, h1, 'a', [{ hostPort: 8080, containerPort: 80 }]);
  const before = await ruleset(h1);
  const cases: [string, unknown[], RegExp][] = [
    [
      'port 0',
      [{ hostPort: 0, containerPort: 80 }],
      /runtimeConfig\.portMappings\[0\]\.hostPort must be >= 1/,
    ],
    [
      'port 65536',
      [{ hostPort: 9000, containerPort: 65536 }],
      /runtimeConfig\.portMappings\[0\]\.containerPort must be <= 65535/,
    ],
    [
      'unknown protocol',
      [
        { hostPort: 9000, containerPort: 80 },
        { hostPort: 9001, containerPort: 80, protocol: 'icmp' },
      ],
      /runtimeConfig\.portMappings\[1\]\.protocol must match/,
    ],
    [
      'hostIP not an IP',
      [{ hostPort: 9000, containerPort: 80, hostIP: '1.2.3' }],
      /runtimeConfig\.portMappings\[0\]\.hostIP "1\.2\.3" is not an IP address/,
    ],
    ['no hostPort', [{ containerPort: 80 }], /runtimeConfig\.portMappings\[0\]\.hostPort is required/],
    [
      'one port twice',
      [
        { hostPort: 9000, containerPort: 80 },
        { hostPort: 9000, containerPort: 81 },
      ],
      /portMappings\[1\] asks for host port tcp\/9000 again/,
    ],
  ];
  for (const [what, mappings, msg] of cases) {
    const r = await portmap(h1, 'ADD', a, { ...portmapConf(mappings as Mapping[]), prevResult: a.result });
    t.match(r.json, { code: 7, msg }, what);
    t.match(r.stderr, msg, `${what}: said on stderr too`);
  }
  t.match(
    (await portmap(h1, 'ADD', a, portmapConf([{ hostPort: 9000, containerPort: 80 }]))).json,
    { code: 7, msg: /prevResult is missing/ },
    'no prevResult',
  );
  t.equal(await ruleset(h1), before, 'the ruleset is unchanged');
  t.equal(
    (await portmap(h1, 'STATUS', a, { ...portmapConf(undefined), cniVersion: '1.1.0' })).exitCode,
    0,
    'STATUS with nft',
  );
  const noNft = await callPlugin(
    'portmap',
    { ...portmapConf(undefined), cniVersion: '1.1.0' },
    { command: 'STATUS', env: { PATH: '/nonexistent' } },
  );
  t.match(noNft.json, { code: 50, msg: /nft is not installed/ }, 'STATUS 50 without nft');
});

t.test('chained after vxlan and after the reference bridge', async (t) => {
  const c = await Cluster.create(t, { hosts: 2, underlay: 'routed', plugin: 'vxlan' });
  const [h1] = c.hosts as [ClusterHost];
  const a = await addMapped(t, c, h1, 'a', [{ hostPort: 8080, containerPort: 80 }], {
    file: bin('vxlan'),
    conf: c.conf(h1),
  });
  await tcpServer(a.name, 80);
  t.same(
    await tcpSend(c.outside.name, h1.ip, 8080, 10),
    { from: '172.16.1.1', bytes: 10 },
    'after vxlan: outside → host:8080',
  );
  const ref = {
    file: '/usr/lib/cni/bridge',
    conf: {
      cniVersion: '1.0.0',
      name: 'refnet',
      type: 'bridge',
      bridge: 'cni-ref0',
      isGateway: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '10.88.0.0/24' }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: h1.dataDir,
      },
    },
  };
  const r = await addMapped(t, c, h1, 'r', [{ hostPort: 8090, containerPort: 80 }], ref);
  t.match(r.v4, /^10\.88\.0\./, 'the reference bridge gave the address');
  await tcpServer(r.name, 80);
  t.same(
    await tcpSend(c.outside.name, h1.ip, 8090, 10),
    { from: '172.16.1.1', bytes: 10 },
    'after the reference bridge: outside → host:8090',
  );
  t.match(
    await tcpSend(a.name, h1.ip, 8090, 10),
    { bytes: 10 },
    'a vxlan pod reaches the bridge pod through the host port',
  );
});

t.test('kill -9 during ADD, then DEL: no element, rule or table left', async (t) => {
  const c = await Cluster.create(t, { hosts: 1, underlay: 'routed' });
  const [h1] = c.hosts as [ClusterHost];
  const a = await addMapped(t, c, h1, 'a', []);
  const many = Array.from({ length: 50 }, (_, i) => ({
    hostPort: 20000 + i,
    containerPort: 80,
    protocol: i % 2 ? 'udp' : 'tcp',
  }));
  const conf = JSON.stringify({ ...portmapConf(many), prevResult: a.result });
  const run = (command: string) =>
    execa('ip', ['netns', 'exec', h1.name, bin('portmap')], {
      env: {
        PATH: process.env.PATH ?? '',
        CNI_COMMAND: command,
        CNI_CONTAINERID: a.call.containerId!,
        CNI_NETNS: a.path,
        CNI_IFNAME: 'eth0',
        CNI_PATH: BIN,
      },
      extendEnv: false,
      input: conf,
      reject: false,
    });
  let addMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    t.equal((await run('ADD')).exitCode, 0, 'a whole ADD works');
    addMs = Math.min(addMs, Date.now() - started);
    t.equal((await run('DEL')).exitCode, 0);
  }
  let killed = 0;
  let landed = 0;
  let i = 0;
  // Rounds until 20 kills landed mid-way (under load a kill may come after the ADD finished).
  for (; killed < 20 && i < 60; i++) {
    const child = run('ADD');
    await new Promise((r) => setTimeout(r, Math.random() * addMs));
    child.kill('SIGKILL');
    if ((await child).signal === 'SIGKILL') killed++;
    if ((await portmapTable(h1)).includes('20049')) landed++;
    t.equal((await run('DEL')).exitCode, 0, `DEL after kill #${i}`);
    t.equal(await portmapTable(h1), '', `nothing left after kill #${i}`);
  }
  t.ok(killed >= 20, `${killed} of ${i} ADDs were killed mid-way`);
  t.comment(`${landed} of them had written their elements before the kill`);
});
