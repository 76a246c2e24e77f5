// macvlan on the real kernel: a LAN switch netns, two hosts whose masters (eth0) are ports of it, and
// a LAN machine on it; pods get addresses from disjoint slices of the LAN subnet.
import { existsSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import t from 'tap';
import { Cluster, type ClusterHost, leaseFiles, type Pod } from '../helpers/cluster.js';
import { inNs, ip } from '../helpers/lab.js';
import { BIN, callFile, callPlugin } from '../helpers/plugin.js';
import { pings } from '../helpers/tcp.js';

const LAN = '192.168.100';
/** The uplink note a host's ADD wrote for `dev` (named by its netns's inode and cookie). */
const noteOf = (h: ClusterHost, dev: string) => {
  const prefix = `uplink_${dev}-${statSync(`/run/netns/${h.name}`).ino}-`;
  const name = readdirSync('/run/cni-suite').find((f) => f.startsWith(prefix) && f.endsWith('.note'));
  return `/run/cni-suite/${name ?? `${prefix}none.note`}`;
};
/** Host n hands out LAN .(100+20(n-1)+1)…+19; the LAN machine (.1) is the gateway. */
const lanConf = (c: Cluster, h: ClusterHost, extra: Record<string, unknown> = {}) => {
  const n = c.hosts.indexOf(h);
  return c.conf(h, {
    master: 'eth0',
    peers: undefined,
    clusterCIDR: undefined,
    ipam: {
      type: 'host-local',
      ranges: [
        [
          {
            subnet: `${LAN}.0/24`,
            rangeStart: `${LAN}.${101 + 20 * n}`,
            rangeEnd: `${LAN}.${119 + 20 * n}`,
            gateway: `${LAN}.1`,
          },
        ],
      ],
      dataDir: h.dataDir,
    },
    ...extra,
  });
};
const withPrev = (c: Cluster, pod: Pod, extra: Record<string, unknown> = {}) => ({
  ...lanConf(c, pod.host, extra),
  prevResult: pod.result,
});
const macOf = (p: Pod) => (p.result.interfaces as { mac: string }[])[0]!.mac;
const podLinkMac = async (p: Pod) =>
  /link\/ether (\S+)/.exec(await ip(['link', 'show', 'eth0'], p.name))?.[1];

t.test('pods on two hosts and a LAN machine reach each other; the LAN sees the pod MAC', async (t) => {
  const c = await Cluster.create(t, { plugin: 'macvlan' });
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const a = await c.addPod(h1, 'a', lanConf(c, h1));
  const b = await c.addPod(h2, 'b', lanConf(c, h2));
  t.match(a.result, {
    interfaces: [{ name: 'eth0', sandbox: a.path }],
    ips: [{ interface: 0, gateway: `${LAN}.1` }],
  });
  t.match(a.ip, new RegExp(`^${LAN.replace(/\./g, '\\.')}\\.1[01]\\d$`), 'from host 1 slice');
  t.equal(await podLinkMac(a), macOf(a), 'the pod link has the MAC of the result');
  for (const key of ['net.ipv4.conf.eth0.arp_notify', 'net.ipv6.conf.eth0.ndisc_notify'])
    t.equal((await inNs(a.name, 'sysctl', ['-n', key])).stdout.trim(), '1', `${key} is on in the pod`);
  t.ok(await pings(a.name, b.ip), 'pod on h1 → pod on h2');
  t.ok(await pings(a.name, `${LAN}.1`), 'pod → LAN machine');
  t.ok(await pings(c.outside.name, b.ip), 'LAN machine → pod');
  t.match(
    await ip(['neigh', 'show', b.ip], c.outside.name),
    macOf(b),
    "the LAN machine's neighbour table has the pod's MAC",
  );
  t.notOk(
    await pings(h1.name, a.ip),
    'without a shim the host cannot reach its own pod (the macvlan limitation)',
  );
  t.equal((await c.call(h1, 'CHECK', a, withPrev(c, a))).exitCode, 0, 'CHECK passes');
  await ip(['link', 'set', 'eth0', 'address', '02:11:22:33:44:55'], a.name);
  t.match(
    (await c.call(h1, 'CHECK', a, withPrev(c, a))).json,
    { code: 103, msg: /MAC/ },
    'CHECK catches a changed MAC',
  );
  t.match(
    (await c.call(h1, 'CHECK', b, withPrev(c, b, { mode: 'private' }))).json,
    { code: 103, msg: /mode bridge, not private/ },
    'CHECK catches another mode',
  );
  for (const p of [a, b]) {
    t.equal((await c.call(p.host, 'DEL', p, lanConf(c, p.host))).exitCode, 0, 'DEL');
    t.equal((await c.call(p.host, 'DEL', p, lanConf(c, p.host))).exitCode, 0, 'DEL twice');
    t.notMatch(await ip(['link', 'show'], p.name), 'eth0', 'the pod link is gone');
  }
  t.same(leaseFiles(h1), [], 'no lease left');
});

t.test('private mode isolates pods of one host; bridge mode does not', async (t) => {
  const c = await Cluster.create(t, { plugin: 'macvlan', hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const b1 = await c.addPod(h1, 'b1', lanConf(c, h1));
  const b2 = await c.addPod(h1, 'b2', lanConf(c, h1));
  t.ok(await pings(b1.name, b2.ip), 'bridge: b1 → b2');
  const p1 = await c.addPod(h1, 'p1', lanConf(c, h1, { name: 'priv', mode: 'private' }));
  const p2 = await c.addPod(h1, 'p2', lanConf(c, h1, { name: 'priv', mode: 'private' }));
  t.notOk(await pings(p1.name, p2.ip), 'private: p1 ↛ p2');
  t.ok(await pings(p1.name, `${LAN}.1`), 'private: p1 → LAN machine (positive control)');
});

t.test('hostShim: the host reaches its pods through it; GC removes it with the last pod', async (t) => {
  const c = await Cluster.create(t, { plugin: 'macvlan', hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const shim = { hostShim: `${LAN}.99`, podCIDR: `${LAN}.96/27` };
  const a = await c.addPod(h1, 'a', lanConf(c, h1));
  t.notOk(await pings(h1.name, a.ip), 'no shim: the host cannot reach its pod');
  const b = await c.addPod(h1, 'b', lanConf(c, h1, shim));
  t.ok(await pings(h1.name, b.ip), 'with the shim: the host reaches its pod');
  t.ok(await pings(h1.name, a.ip), 'and the first pod too (same master, bridge mode)');
  t.ok(await pings(b.name, `${LAN}.1`), 'the pod still reaches the LAN');
  const gc = (keep: Pod[]) =>
    c.call(
      h1,
      'GC',
      { id: '', path: '', ifname: '' },
      {
        ...lanConf(c, h1, shim),
        cniVersion: '1.1.0',
        'cni.dev/valid-attachments': keep.map((p) => ({ containerID: p.id, ifname: 'eth0' })),
      },
    );
  t.equal((await gc([a, b])).exitCode, 0, 'GC with pods left');
  t.match(
    await ip(['link', 'show', 'type', 'macvlan'], h1.name),
    /ms[0-9a-f]{10}/,
    'the shim stays while pods remain',
  );
  for (const p of [a, b]) t.equal((await c.call(h1, 'DEL', p, lanConf(c, h1, shim))).exitCode, 0);
  t.equal((await gc([])).exitCode, 0, 'GC with no pod left');
  t.equal(await ip(['link', 'show', 'type', 'macvlan'], h1.name), '', 'the shim is gone');
});

t.test('L2 only (no ipam), mac from each source, DEL without a netns, bad config', async (t) => {
  const c = await Cluster.create(t, { plugin: 'macvlan', hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const l2 = await c.addPod(h1, 'l2', { ...lanConf(c, h1), ipam: undefined });
  t.match(await ip(['link', 'show', 'eth0'], l2.name), /state UP|LOWER_UP/, 'L2 only: the link is up');
  t.notMatch(await ip(['addr', 'show', 'eth0'], l2.name), /inet /, 'with no IPv4 address');
  const macs = { CNI_ARGS: '02:00:00:00:0a:01', argsCni: '02:00:00:00:0a:02', runtime: '02:00:00:00:0a:03' };
  const ns = await c.lab.container('m1');
  const at = { containerId: 'm1', netns: ns.path, ifname: 'eth0', hostNetns: h1.name, path: BIN };
  const call = (args: string | undefined, conf: Record<string, unknown>) =>
    callPlugin('macvlan', conf, { ...at, command: 'ADD', args });
  const del = () => callPlugin('macvlan', lanConf(c, h1), { ...at, command: 'DEL' });
  const cases: [string, string | undefined, Record<string, unknown>, string][] = [
    ['CNI_ARGS', `IgnoreUnknown=1;MAC=${macs.CNI_ARGS}`, lanConf(c, h1), macs.CNI_ARGS],
    [
      'args.cni over CNI_ARGS',
      `IgnoreUnknown=1;MAC=${macs.CNI_ARGS}`,
      { ...lanConf(c, h1), args: { cni: { mac: macs.argsCni } } },
      macs.argsCni,
    ],
    [
      'runtimeConfig over both',
      `IgnoreUnknown=1;MAC=${macs.CNI_ARGS}`,
      { ...lanConf(c, h1), args: { cni: { mac: macs.argsCni } }, runtimeConfig: { mac: macs.runtime } },
      macs.runtime,
    ],
  ];
  for (const [what, args, conf, want] of cases) {
    const r = await call(args, conf);
    t.equal(r.exitCode, 0, `${what}: ${r.stdout}`);
    t.match(await ip(['link', 'show', 'eth0'], ns.name), want, `${what}: the pod has ${want}`);
    t.equal((await del()).exitCode, 0);
  }
  const gone = await c.addPod(h1, 'gone', lanConf(c, h1));
  await ip(['netns', 'del', gone.name]);
  t.equal((await c.call(h1, 'DEL', gone, lanConf(c, h1))).exitCode, 0, 'DEL with the netns gone');
  t.equal(
    (await c.call(h1, 'DEL', { ...gone, path: '' }, lanConf(c, h1))).exitCode,
    0,
    'DEL with an empty CNI_NETNS',
  );
  const bad = await c.lab.container('bad');
  const before = await ip(['link', 'show'], h1.name);
  for (const [extra, msg] of [
    [{ mode: 'bogus' }, /mode must be one of "bridge", "private", "vepa", "passthru"/],
    [{ mtu: 9000 }, /mtu 9000 is above the MTU 1500 of master "eth0"/],
    [{ master: 'nope0' }, /master "nope0" does not exist/],
    [{ hostShim: `${LAN}.99` }, /hostShim needs podCIDR/],
  ] as const) {
    const r = await c.call(h1, 'ADD', { id: 'bad', path: bad.path, ifname: 'eth0' }, lanConf(c, h1, extra));
    t.match(r.json, { code: 7, msg }, JSON.stringify(extra));
  }
  t.equal(await ip(['link', 'show'], h1.name), before, 'the host is unchanged');
  t.notMatch(await ip(['link', 'show'], bad.name), 'eth0', 'no link in the pod');
  t.same(leaseFiles(h1).length, 0, 'no lease held');
});

t.test(
  'the uplink note: a refused ADD leaves it; a master changed since makes the ADD on it 11, one deleted 7; nothing left',
  async (t) => {
    const c = await Cluster.create(t, { plugin: 'macvlan', hosts: 1 });
    const [h1] = c.hosts as [ClusterHost];
    await ip(['link', 'add', 'lan1', 'type', 'veth', 'peer', 'name', 'lan1p'], h1.name);
    for (const end of ['lan1', 'lan1p']) await ip(['link', 'set', end, 'up'], h1.name);
    // Positive control: with the master there, ADD works (and notes what it read of lan1).
    const first = await c.addPod(h1, 'first', lanConf(c, h1, { master: 'lan1' }));
    t.match(await ip(['link', 'show', 'eth0'], first.name), /state UP|LOWER_UP/, 'a pod on lan1');
    t.equal((await c.call(h1, 'DEL', first, lanConf(c, h1, { master: 'lan1' }))).exitCode, 0, 'its DEL');
    const note = noteOf(h1, 'lan1');
    t.ok(existsSync(note), 'ADD noted what it read of lan1');
    const noted = statSync(note).mtimeMs;
    const refused = await c.call(
      h1,
      'ADD',
      { id: 'big', path: (await c.lab.container('big')).path, ifname: 'eth0' },
      lanConf(c, h1, { master: 'lan1', mtu: 9000 }),
    );
    t.match(
      refused.json,
      { code: 7, msg: /mtu 9000 is above the MTU 1500 of master "lan1"/ },
      'a bad mtu is 7',
    );
    t.equal(existsSync(note) && statSync(note).mtimeMs, noted, 'that refused ADD left the note as it was');
    // The master's MTU lowered: an ADD on the noted 1500 cannot make its link, reads lan1 again, is
    // 11 (try again), and the next ADD works with 1400.
    await ip(['link', 'set', 'lan1', 'mtu', '1400'], h1.name);
    const lowered = { id: 'low', path: (await c.lab.container('low')).path, ifname: 'eth0' };
    const stale = await c.call(h1, 'ADD', lowered, lanConf(c, h1, { master: 'lan1' }));
    t.match(stale.json, { code: 11, msg: /uplink lan1 changed/ }, 'the ADD on the stale note is 11');
    t.notOk(existsSync(note), 'and dropped the note');
    const retried = await c.call(h1, 'ADD', lowered, lanConf(c, h1, { master: 'lan1' }));
    t.equal(retried.exitCode, 0, `the retry works: ${retried.stdout}`);
    t.match(
      await ip(['link', 'show', 'eth0'], lowered.path.split('/').pop()!),
      /mtu 1400/,
      'with the new MTU',
    );
    t.equal((await c.call(h1, 'DEL', lowered, lanConf(c, h1, { master: 'lan1' }))).exitCode, 0);
    t.ok(existsSync(note), 'the retry noted lan1 again');
    await ip(['link', 'del', 'lan1'], h1.name);
    const before = await ip(['link', 'show'], h1.name);
    const ns = await c.lab.container('second');
    const at = { id: 'second', path: ns.path, ifname: 'eth0' };
    for (const what of ['the ADD that recalls lan1', 'the next ADD'] as const) {
      const r = await c.call(h1, 'ADD', at, lanConf(c, h1, { master: 'lan1' }));
      t.match(r.json, { code: 7, msg: /master "lan1" does not exist/ }, what);
      t.notOk(existsSync(note), `${what}: nothing noted of lan1 after it`);
    }
    t.equal(await ip(['link', 'show'], h1.name), before, 'the host is unchanged');
    t.notMatch(await ip(['link', 'show'], ns.name), 'eth0', 'no link in the pod');
    t.same(leaseFiles(h1).length, 0, 'no lease held');
  },
);

t.test('interop with the reference macvlan: same result shape; each DELs what the other added', async (t) => {
  const c = await Cluster.create(t, { plugin: 'macvlan', hosts: 1, cniPath: `${BIN}:/usr/lib/cni` });
  const [h1] = c.hosts as [ClusterHost];
  const ref = '/usr/lib/cni/macvlan';
  const conf = { ...lanConf(c, h1), type: 'macvlan' };
  const ns1 = await c.lab.container('r1');
  const ns2 = await c.lab.container('r2');
  const at = (id: string, netns: string) => ({
    containerId: id,
    netns,
    ifname: 'eth0',
    hostNetns: h1.name,
    path: `${BIN}:/usr/lib/cni`,
  });
  const theirs = await callFile(ref, conf, { ...at('r1', ns1.path), command: 'ADD' });
  const ours = await callPlugin('macvlan', conf, { ...at('r2', ns2.path), command: 'ADD' });
  t.equal(theirs.exitCode, 0, `reference ADD ${theirs.stdout}`);
  t.equal(ours.exitCode, 0, `our ADD ${ours.stdout}`);
  const shape = (r: Record<string, unknown> | undefined) => ({
    interfaces: ((r?.interfaces ?? []) as { name: string; sandbox: string }[]).map((i) => ({
      name: i.name,
      sandbox: typeof i.sandbox,
    })),
    ips: ((r?.ips ?? []) as { interface: number; gateway: string }[]).map((i) => ({
      interface: i.interface,
      gateway: i.gateway,
    })),
  });
  t.same(shape(ours.json), shape(theirs.json), 'the same result shape');
  t.equal(
    (await callPlugin('macvlan', conf, { ...at('r1', ns1.path), command: 'DEL' })).exitCode,
    0,
    'ours DELs the reference pod',
  );
  // Its eth0 carries no alias of ours: nothing proves it is ours, so it stays (as a pod's interface
  // of another owner must); the lease, which host-local shares, is released.
  t.match(
    await ip(['link', 'show'], ns1.name),
    'eth0',
    "ours leaves the reference's link, not provably its own",
  );
  t.equal(
    (await callFile(ref, conf, { ...at('r1', ns1.path), command: 'DEL' })).exitCode,
    0,
    'the reference DELs its own pod',
  );
  t.equal(
    (await callFile(ref, conf, { ...at('r2', ns2.path), command: 'DEL' })).exitCode,
    0,
    'the reference DELs ours',
  );
  for (const ns of [ns1, ns2]) t.notMatch(await ip(['link', 'show'], ns.name), 'eth0', 'no pod link left');
  t.same(leaseFiles(h1), [], 'no lease left (host-local is shared and byte-compatible)');
});

t.test('STATUS: ready with a master (also without ipam and without nft); 50 without one', async (t) => {
  const c = await Cluster.create(t, { plugin: 'macvlan', hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const none = { id: '', path: '', ifname: '' };
  const v11 = (extra: Record<string, unknown> = {}) => ({ ...lanConf(c, h1, extra), cniVersion: '1.1.0' });
  t.equal((await c.call(h1, 'STATUS', none, v11())).exitCode, 0, 'ready');
  t.equal(
    (await c.call(h1, 'STATUS', none, { ...v11(), ipam: undefined })).exitCode,
    0,
    'ready without ipam',
  );
  const bin = t.testdir({});
  for (const tool of ['/usr/sbin/ip', '/usr/bin/nsenter', '/usr/bin/flock'])
    symlinkSync(tool, join(bin, basename(tool)));
  const noNft = await callPlugin('macvlan', v11(), {
    command: 'STATUS',
    hostNetns: h1.name,
    path: BIN,
    env: { PATH: bin },
  });
  t.equal(noNft.exitCode, 0, `no firewall, so nft is not needed ${noNft.stdout}`);
  t.match((await c.call(h1, 'STATUS', none, v11({ master: 'nope0' }))).json, {
    code: 50,
    msg: /master "nope0" does not exist/,
  });
  t.match((await c.call(h1, 'STATUS', none, v11({ master: 'lo' }))).json, {
    code: 50,
    msg: /cannot carry macvlan/,
  });
});
