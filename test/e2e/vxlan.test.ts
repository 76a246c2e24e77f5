// vxlan on the real kernel: three hosts, each on its own subnet behind a router (no shared L2
// segment, so bridge-route's direct routes could not join them), pods on all three, real packets.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Cluster, type ClusterHost, leaseFiles, type Pod } from '../helpers/cluster.js';
import { inNs, ip, OUTSIDE_IP } from '../helpers/lab.js';
import { pings, tcpSend, tcpServer } from '../helpers/tcp.js';

const withPrev = (c: Cluster, pod: Pod, extra: Record<string, unknown> = {}) => ({
  ...c.conf(pod.host, extra),
  prevResult: pod.result,
});
const vxlan = (opts: ConstructorParameters<typeof Object>[0] = {}) => ({
  plugin: 'vxlan',
  underlay: 'routed' as const,
  hosts: 3,
  ...opts,
});
/** What the plugin leaves on a host: links it owns, permanent entries on the VXLAN device, routes. */
async function hostState(h: ClusterHost) {
  const links = JSON.parse(await ip(['-j', 'link', 'show'], h.name)) as {
    ifname: string;
    ifalias?: string;
  }[];
  return {
    podLinks: links.filter((l) => l.ifalias?.startsWith('cni-suite/')).map((l) => l.ifname),
    neigh: await ip(['neigh', 'show', 'dev', 'vxlan-1', 'nud', 'permanent'], h.name).catch(() => ''),
    fdb: (await inNs(h.name, 'bridge', ['fdb', 'show', 'dev', 'vxlan-1'], { reject: false })).stdout,
    routes: await ip(['route', 'show', 'proto', '202'], h.name),
  };
}

t.test('routed mode: pods on three routed hosts reach each other with their own addresses', async (t) => {
  const c = await Cluster.create(t, vxlan());
  const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
  t.notOk(await pings(h1.name, h2.ip.replace(/\.2$/, '.9')), 'positive control below: hosts share no subnet');
  const a = await c.addPod(h1, 'a');
  const b = await c.addPod(h2, 'b');
  const d = await c.addPod(h3, 'd');
  t.match(a.result, { interfaces: [{ name: 'cni0' }, { name: /^vx/ }, { name: 'eth0' }] });
  for (const [from, to] of [
    [a, b],
    [a, d],
    [b, d],
    [d, a],
  ] as const)
    t.ok(await pings(from.name, to.ip), `${from.name.split('-').pop()} → ${to.name.split('-').pop()}`);
  await tcpServer(d.name, 7100);
  t.same(await tcpSend(a.name, d.ip, 7100), { from: a.ip, bytes: 100_000 }, 'TCP; the receiver sees the pod');
  // The pod MTU is the underlay's minus 50: a full-size DF packet crosses, one byte more does not.
  const mtu = Number(/mtu (\d+)/.exec(await ip(['link', 'show', 'eth0'], a.name))?.[1]);
  t.equal(mtu, 1450, 'pod MTU = 1500 − 50');
  const df = (size: number) =>
    inNs(a.name, 'ping', ['-c1', '-W1', '-M', 'do', '-s', String(size), b.ip], { reject: false });
  t.equal((await df(mtu - 28)).exitCode, 0, 'a DF ping of the full pod MTU crosses');
  t.not((await df(mtu - 27)).exitCode, 0, 'one byte more does not (the MTU is real)');
  await tcpServer(c.outside.name, 7101);
  t.same(await tcpSend(a.name, OUTSIDE_IP, 7101), { from: h1.ip, bytes: 100_000 }, 'egress is masqueraded');

  const nft = (await inNs(h1.name, 'nft', ['list', 'table', 'inet', 'cni_suite'])).stdout;
  t.match(nft, /udp dport 4789 notrack/, 'tunnel packets skip conntrack (the masquerade hook turned it on)');
  const s = await hostState(h1);
  t.match(s.routes, '10.244.2.0/24 via 10.244.2.0 dev vxlan-1', 'route to h2 over the overlay');
  t.match(s.fdb, `dst ${h2.ip}`, 'FDB entry to h2');
  t.match(s.neigh, '10.244.3.0 lladdr', 'neighbour for h3');
  t.equal((await c.call(h1, 'CHECK', a, withPrev(c, a))).exitCode, 0, 'CHECK passes');
  for (const [what, undo] of [
    [
      'FDB entry',
      () =>
        inNs(h1.name, 'bridge', [
          'fdb',
          'del',
          /10\.244\.3\.0 lladdr (\S+)/.exec(s.neigh)![1]!,
          'dev',
          'vxlan-1',
          'dst',
          h3.ip,
        ]),
    ],
    ['neighbour', () => ip(['neigh', 'del', '10.244.2.0', 'dev', 'vxlan-1'], h1.name)],
    ['route', () => ip(['route', 'del', '10.244.3.0/24'], h1.name)],
  ] as const) {
    await undo();
    const check = await c.call(h1, 'CHECK', a, withPrev(c, a));
    t.match(check.json, { code: 103, msg: new RegExp(what) }, `CHECK names the deleted ${what}`);
    const gc = await c.call(
      h1,
      'GC',
      { id: '', path: '', ifname: '' },
      {
        ...c.conf(h1),
        cniVersion: '1.1.0',
        'cni.dev/valid-attachments': [{ containerID: a.id, ifname: 'eth0' }],
      },
    );
    t.equal(gc.exitCode, 0, `GC heals it ${gc.stdout}`);
  }
  t.equal((await c.call(h1, 'CHECK', a, withPrev(c, a))).exitCode, 0, 'CHECK passes again');
  t.ok(await pings(a.name, d.ip), 'a → d again');

  for (const p of [a, b, d]) {
    t.equal((await c.call(p.host, 'DEL', p)).exitCode, 0, 'DEL');
    t.equal((await c.call(p.host, 'DEL', p)).exitCode, 0, 'DEL again');
  }
  t.same((await hostState(h1)).podLinks, [], 'no pod link left');
  t.same(leaseFiles(h1), [], 'no lease left');
});

t.test('peers follow the peersFile: a peer added and removed converges, nothing else moves', async (t) => {
  const c = await Cluster.create(t, vxlan());
  const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
  const peersFile = join(h1.dataDir, 'peers.json');
  const entry = (h: ClusterHost) => ({ name: h.name, nodeIP: h.ip, podCIDR: h.podCIDR });
  writeFileSync(peersFile, JSON.stringify([entry(h1), entry(h2)]));
  const conf = c.conf(h1, { peers: undefined, peersFile });
  const a = await c.addPod(h1, 'a', conf);
  const b = await c.addPod(h2, 'b');
  const d = await c.addPod(h3, 'd');
  t.ok(await pings(a.name, b.ip), 'a → b');
  t.notOk(await pings(a.name, d.ip), 'a ↛ d: h3 is not a peer of h1 yet');
  writeFileSync(peersFile, JSON.stringify([entry(h1), entry(h2), entry(h3)]));
  await c.addPod(h1, 'a2', conf);
  t.ok(await pings(a.name, d.ip), 'h3 added: the next ADD converged, a → d');
  writeFileSync(peersFile, JSON.stringify([entry(h1), entry(h3)]));
  await c.addPod(h1, 'a3', conf);
  const s = await hostState(h1);
  t.notMatch(s.routes, '10.244.2.0/24', 'h2 removed: its route is gone');
  t.notMatch(s.fdb, `dst ${h2.ip}`, 'its FDB entry is gone');
  t.notMatch(s.neigh, '10.244.2.0 ', 'its neighbour is gone');
  t.ok(await pings(a.name, d.ip), 'h3 untouched: a → d');
});

t.test('l2 mode: one subnet across three routed hosts, a slice per host', async (t) => {
  const c = await Cluster.create(t, vxlan({ conf: { mode: 'l2' } }));
  const slice = (h: ClusterHost) => {
    const n = c.hosts.indexOf(h) + 1;
    return c.conf(h, {
      podCIDR: '10.250.0.0/16',
      clusterCIDR: '10.250.0.0/16',
      peers: c.hosts.map((x) => ({ name: x.name, nodeIP: x.ip, podCIDR: '10.250.0.0/16' })),
      ipam: {
        type: 'host-local',
        ranges: [
          [
            {
              subnet: '10.250.0.0/16',
              rangeStart: `10.250.${n}.10`,
              rangeEnd: `10.250.${n}.250`,
              gateway: `10.250.${n}.1`,
            },
          ],
        ],
        dataDir: h.dataDir,
      },
    });
  };
  const pods = [];
  for (const h of c.hosts as ClusterHost[]) pods.push(await c.addPod(h, `p${c.hosts.indexOf(h)}`, slice(h)));
  const [p1, p2, p3] = pods as [Pod, Pod, Pod];
  t.match(p2.ip, /^10\.250\.2\./, 'each host hands out its own slice');
  t.ok(await pings(p1.name, p2.ip), 'p1 → p2 (L2 across the overlay)');
  t.ok(await pings(p3.name, p1.ip), 'p3 → p1');
  const neigh = await ip(['neigh', 'show', p2.ip], p1.name);
  t.match(neigh, (p2.result.interfaces as { mac: string }[])[2]!.mac, 'p1 resolved p2 by ARP across hosts');
  await tcpServer(c.outside.name, 7102);
  t.same(
    await tcpSend(p1.name, OUTSIDE_IP, 7102),
    { from: c.hosts[0]!.ip, bytes: 100_000 },
    'egress via the local host, masqueraded',
  );
});

t.test('dual-stack pods over an IPv4 underlay, and pods over an IPv6 underlay', async (t) => {
  const c = await Cluster.create(t, vxlan({ hosts: 2 }));
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const n = (h: ClusterHost) => c.hosts.indexOf(h) + 1;
  const dual = (h: ClusterHost, underlay: 'ip' | 'ip6') =>
    c.conf(h, {
      name: `dual${underlay}`,
      bridge: `br${underlay}`,
      vni: underlay === 'ip' ? 10 : 11,
      ...(underlay === 'ip6' ? { localIP: h.ip6 } : {}),
      clusterCIDR: ['10.244.0.0/16', 'fd00:244::/48'],
      peers: c.hosts.flatMap((x) => [
        { name: x.name, nodeIP: x[underlay], podCIDR: `10.24${underlay === 'ip' ? 5 : 6}.${n(x)}.0/24` },
        { name: x.name, nodeIP: x[underlay], podCIDR: `fd00:24${underlay === 'ip' ? 5 : 6}:${n(x)}::/64` },
      ]),
      ipam: {
        type: 'host-local',
        ranges: [
          [{ subnet: `10.24${underlay === 'ip' ? 5 : 6}.${n(h)}.0/24` }],
          [{ subnet: `fd00:24${underlay === 'ip' ? 5 : 6}:${n(h)}::/64` }],
        ],
        dataDir: join(h.dataDir, underlay),
      },
    });
  for (const underlay of ['ip', 'ip6'] as const) {
    const a = await c.addPod(h1, `a${underlay}`, dual(h1, underlay));
    const b = await c.addPod(h2, `b${underlay}`, dual(h2, underlay));
    const v6 = (p: Pod) => (p.result.ips as { address: string }[])[1]!.address.split('/')[0]!;
    t.ok(
      await pings(a.name, b.ip),
      `IPv4 pods across hosts, ${underlay === 'ip' ? 'IPv4' : 'IPv6'} underlay`,
    );
    t.ok(
      await pings(a.name, v6(b), 3),
      `IPv6 pods across hosts, ${underlay === 'ip' ? 'IPv4' : 'IPv6'} underlay`,
    );
    const mtu = Number(/mtu (\d+)/.exec(await ip(['link', 'show', 'eth0'], a.name))?.[1]);
    t.equal(mtu, underlay === 'ip' ? 1450 : 1430, 'pod MTU: underlay − 50, or − 70 over IPv6');
    for (const p of [a, b]) t.equal((await c.call(p.host, 'DEL', p, dual(p.host, underlay))).exitCode, 0);
  }
});

t.test('concurrent ADDs on a fresh host create the device once; DEL is total', async (t) => {
  const c = await Cluster.create(t, vxlan({ hosts: 2 }));
  const [h1] = c.hosts as [ClusterHost];
  const pods = await Promise.all([1, 2, 3, 4, 5].map((i) => c.addPod(h1, `p${i}`)));
  const devices = JSON.parse(await ip(['-j', 'link', 'show', 'type', 'vxlan'], h1.name)) as unknown[];
  t.equal(devices.length, 1, 'one VXLAN device');
  t.equal(new Set(pods.map((p) => p.ip)).size, 5, 'five pods, five addresses');
  await ip(['netns', 'del', pods[0]!.name]);
  const cases: [string, { id: string; path: string; ifname: string }][] = [
    ['its netns gone', pods[0]!],
    ['an empty CNI_NETNS', { ...pods[1]!, path: '' }],
    ['never added', { id: 'never', path: '', ifname: 'eth0' }],
  ];
  for (const [what, pod] of cases) {
    t.equal((await c.call(h1, 'DEL', pod)).exitCode, 0, `DEL with ${what}`);
    t.equal((await c.call(h1, 'DEL', pod)).exitCode, 0, `DEL with ${what}, twice`);
  }
  for (const p of pods.slice(2))
    t.equal(
      (await c.call(h1, 'DEL', p, c.conf(h1, { vni: 0 }))).exitCode,
      0,
      'DEL with a config ADD would refuse',
    );
  t.same((await hostState(h1)).podLinks, [], 'no pod link left');
  t.same(leaseFiles(h1), [], 'no lease left');
});

t.test('bad config: code 7 naming the field, nothing changed on the host', async (t) => {
  const c = await Cluster.create(t, vxlan({ hosts: 1 }));
  const [h1] = c.hosts as [ClusterHost];
  const ns = await c.lab.container('bad');
  const links = async () =>
    (
      JSON.parse(await ip(['-j', '-d', 'link', 'show'], h1.name)) as { ifname: string; linkinfo?: unknown }[]
    ).map((l) => [l.ifname, l.linkinfo]);
  const before = await links();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ vni: 0 }, /vni must be >= 1/],
    [{ vni: 16777216 }, /vni must be <= 16777215/],
    [{ port: 70000 }, /port must be <= 65535/],
    [{ mode: 'l3' }, /mode must be one of "routed", "l2"/],
    [{ localIP: '10.0.0' }, /localIP "10\.0\.0" is not an IP address/],
    [{ underlayInterface: 'eth0 x' }, /underlayInterface must match pattern/],
    [{ underlayInterface: 'nope0' }, /localIP is not set and the underlay device "nope0" has no address/],
    [{ mode: 'l2', directRouting: true }, /directRouting applies to mode "routed" only/],
    [
      { peers: [{ name: 'h9', nodeIP: '172.16.9.2', podCIDR: '10.244.9.1/24' }] },
      /peers\[0\]\.podCIDR .* has host bits set/,
    ],
  ];
  for (const [extra, msg] of cases) {
    const r = await c.call(h1, 'ADD', { id: 'bad', path: ns.path, ifname: 'eth0' }, c.conf(h1, extra));
    t.match(r.json, { code: 7, msg }, JSON.stringify(extra));
  }
  t.same(await links(), before, 'no link created or changed');
  const ok = await c.call(h1, 'ADD', { id: 'bad', path: ns.path, ifname: 'eth0' }, c.conf(h1));
  t.equal(ok.exitCode, 0, 'positive control: the same ADD with the default config works');
});

t.test('STATUS: 0 with every peer behind a router; 50 when another device holds the VNI', async (t) => {
  const c = await Cluster.create(t, vxlan({ hosts: 2 }));
  const [h1] = c.hosts as [ClusterHost];
  const v11 = { ...c.conf(h1), cniVersion: '1.1.0' };
  const none = { id: '', path: '', ifname: '' };
  const ok = await c.call(h1, 'STATUS', none, v11);
  t.equal(ok.exitCode, 0, `STATUS passes though no peer is on-link ${ok.stdout}`);
  await ip(['link', 'add', 'other0', 'type', 'vxlan', 'id', '1', 'dstport', '4789', 'local', h1.ip], h1.name);
  t.match((await c.call(h1, 'STATUS', none, v11)).json, {
    code: 50,
    msg: /"other0" already uses vni 1 on port 4789/,
  });
  t.equal((await c.call(h1, 'STATUS', none, { ...v11, vni: 2 })).exitCode, 0, 'another vni is no conflict');
});

t.test('directRouting: a peer on the underlay subnet is routed directly, without the tunnel', async (t) => {
  const c = await Cluster.create(t, { plugin: 'vxlan', hosts: 2, conf: { directRouting: true } });
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const a = await c.addPod(h1, 'a');
  const b = await c.addPod(h2, 'b');
  t.ok(await pings(a.name, b.ip), 'a → b');
  const s = await hostState(h1);
  t.match(s.routes, `10.244.2.0/24 via ${h2.ip} dev eth0`, 'plain route via the node IP');
  t.notMatch(s.fdb, 'permanent', 'no FDB entry: nothing goes through the tunnel');
  t.equal((await c.call(h1, 'CHECK', a, withPrev(c, a))).exitCode, 0, 'CHECK passes');
});
