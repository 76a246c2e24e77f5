// Regressions of the reliability issue's defects, each on the real kernel through the built plugins:
// what a failed ADD leaves on a fresh host, a pod link of another owner under CNI_IFNAME, error codes
// that name the real problem, and host-local's files never written through a symlink.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Cluster, type ClusterHost, leaseFiles } from '../helpers/cluster.js';
import { hlConf } from '../helpers/host-local.js';
import { inNs, ip, Lab } from '../helpers/lab.js';
import { callPlugin } from '../helpers/plugin.js';
import type { Tap } from '../helpers/scenario.js';
import { pings } from '../helpers/tcp.js';

const forwarding = async (host: ClusterHost) =>
  (await inNs(host.name, 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim();
const nftTables = async (host: ClusterHost) =>
  (await inNs(host.name, 'nft', ['list', 'tables'])).stdout.trim();
const links = async (netns: string) =>
  (JSON.parse(await ip(['-j', 'link', 'show'], netns)) as { ifname: string }[]).map((l) => l.ifname);

/** An IPAM section on a data dir of its own, which knows no attachment. */
function freshIpam(t: Tap, h: ClusterHost) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cs-ipam-fresh-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  return { type: 'host-local', ranges: [[{ subnet: h.podCIDR }]], dataDir };
}

/** A PATH with the tools the plugin needs, but no `nft`. */
function pathWithoutNft(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'cs-nonft-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const tool of ['/usr/sbin/ip', '/usr/bin/nsenter', '/usr/bin/flock', '/usr/sbin/bridge'])
    symlinkSync(tool, join(dir, tool.split('/').pop()!));
  return dir;
}

t.test('a failed first ADD on a fresh host leaves no forwarding, no nft table, no bridge', async (t) => {
  const c = await Cluster.create(t, { hosts: 2 });
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const refused = {
    ipMasq: true,
    isolation: 'bridge',
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: h1.podCIDR }]],
      // A gateway the pod cannot reach: the kernel refuses the route ("Nexthop has invalid gateway").
      routes: [{ dst: '198.51.100.0/24', gw: '192.0.2.77' }],
      dataDir: h1.dataDir,
    },
  };
  const pod = await c.lab.container('gw');
  const call = { id: `${c.lab.prefix}-gw`, path: pod.path, ifname: 'eth0' };
  t.equal(await forwarding(h1), '0', 'a fresh host does not forward');
  const failed = await c.call(h1, 'ADD', call, c.conf(h1, refused));
  t.equal(failed.exitCode, 1, 'ADD fails');
  t.match(failed.json, { msg: /192\.0\.2\.77|gateway|Nexthop/i }, `naming the route: ${failed.stdout}`);
  t.equal(await forwarding(h1), '0', 'forwarding is off again');
  t.equal(await nftTables(h1), '', 'no nft table is left');
  t.same(await links(h1.name), ['lo', 'eth0'], 'no bridge or veth is left');
  t.same(leaseFiles(h1), [], 'no lease is left');
  // No nft on the PATH: the ADD fails at the firewall, after the bridge and forwarding.
  const bare = await callPlugin('bridge-route', c.conf(h2, { ipMasq: true }), {
    command: 'ADD',
    containerId: call.id,
    netns: pod.path,
    ifname: 'eth0',
    hostNetns: h2.name,
    env: { PATH: pathWithoutNft(t) },
  });
  t.equal(bare.exitCode, 1, `ADD without nft fails: ${bare.stdout}`);
  t.equal(await forwarding(h2), '0', 'and leaves forwarding off');
  t.same(await links(h2.name), ['lo', 'eth0'], 'and no bridge');
  // Positive control: the same host, the same pod, a config the kernel takes.
  const ok = await c.call(h1, 'ADD', call, c.conf(h1, { ipMasq: true, isolation: 'bridge' }));
  t.equal(ok.exitCode, 0, `a good ADD on that host works: ${ok.stdout}`);
  t.equal(await forwarding(h1), '1', 'and turns forwarding on');
  t.match(await nftTables(h1), /table inet cni_suite[\s\S]*table bridge cni_suite/, 'and writes both tables');
  t.equal((await c.call(h1, 'DEL', call, c.conf(h1, { ipMasq: true }))).exitCode, 0, 'DEL');
});

t.test('a failed ADD leaves the shared state a live attachment needs', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const live = await c.addPod(h1, 'live', c.conf(h1, { ipMasq: true }));
  const pod = await c.lab.container('bad');
  const bad = c.conf(h1, {
    ipMasq: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: h1.podCIDR }]],
      routes: [{ dst: '198.51.100.0/24', gw: '192.0.2.77' }],
      dataDir: h1.dataDir,
    },
  });
  const failed = await c.call(h1, 'ADD', { id: `${c.lab.prefix}-bad`, path: pod.path, ifname: 'eth0' }, bad);
  t.equal(failed.exitCode, 1, 'the second ADD fails');
  t.equal(await forwarding(h1), '1', 'forwarding stays on');
  t.match(await nftTables(h1), /table inet cni_suite/, 'the table stays');
  t.ok(await pings(live.name, '10.244.1.1'), 'the live pod still reaches its gateway');
  t.equal(
    (await c.call(h1, 'CHECK', live, { ...c.conf(h1, { ipMasq: true }), prevResult: live.result })).exitCode,
    0,
  );
});

/** macvlan and ipvlan-l3 on one host whose master is eth0, with an `eth0` of another owner in the pod. */
const childConf = (c: Cluster, h: ClusterHost, type: string) =>
  c.conf(h, {
    type,
    master: 'eth0',
    peers: type === 'macvlan' ? undefined : [],
    clusterCIDR: type === 'macvlan' ? undefined : '10.244.0.0/16',
    ...(type === 'ipvlan-l3' ? { podCIDR: h.podCIDR } : {}),
  });

for (const plugin of ['macvlan']) {
  t.test(`${plugin}: an eth0 of another owner in the pod is named, kept by ADD and by DEL`, async (t) => {
    const c = await Cluster.create(t, { hosts: 1, plugin });
    const [h1] = c.hosts as [ClusterHost];
    const conf = childConf(c, h1, plugin);
    const pod = await c.lab.container('taken');
    await ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'theirs'], pod.name);
    const call = { id: `${c.lab.prefix}-taken`, path: pod.path, ifname: 'eth0' };
    const add = await c.call(h1, 'ADD', call, conf);
    t.equal(add.exitCode, 1, 'ADD fails');
    t.match(add.json, { code: 4, msg: /CNI_IFNAME "eth0" exists in the container/ }, add.stdout);
    t.same((await links(pod.name)).sort(), ['eth0', 'lo', 'theirs'], 'nothing of ours is left in the pod');
    t.same(await links(h1.name), ['lo', 'eth0'], 'nor in the host');
    t.same(leaseFiles(h1), [], 'no lease is left');
    t.equal((await c.call(h1, 'DEL', call, conf)).exitCode, 0, 'DEL');
    t.same((await links(pod.name)).sort(), ['eth0', 'lo', 'theirs'], 'DEL kept their eth0');
    // Positive control: without theirs, the same ADD works and its DEL removes its own eth0.
    await ip(['link', 'del', 'eth0'], pod.name);
    const ok = await c.call(h1, 'ADD', call, conf);
    t.equal(ok.exitCode, 0, `ADD into a pod without eth0: ${ok.stdout}`);
    // Another data dir: IPAM knows nothing of the attachment, so only the pod's link can tell.
    const again = await c.call(h1, 'ADD', call, { ...conf, ipam: freshIpam(t, h1) });
    t.match(again.json, { code: 105, msg: /attached as eth0 already/ }, 'a repeated ADD is 105');
    t.same((await links(pod.name)).sort(), ['eth0', 'lo'], 'and leaves one eth0 in the pod');
    t.equal((await c.call(h1, 'DEL', call, conf)).exitCode, 0, 'DEL');
    t.same(await links(pod.name), ['lo'], 'DEL removed its own eth0');
  });
}

t.test('bridge-route: an eth0 of another owner in the pod is code 4; a live attachment is 105', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const pod = await c.lab.container('taken');
  await ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'theirs'], pod.name);
  const call = { id: `${c.lab.prefix}-taken`, path: pod.path, ifname: 'eth0' };
  const add = await c.call(h1, 'ADD', call);
  t.match(add.json, { code: 4, msg: /CNI_IFNAME "eth0" exists in the container/ }, add.stdout);
  t.same((await links(pod.name)).sort(), ['eth0', 'lo', 'theirs'], 'the pod is as it was');
  t.same(leaseFiles(h1), [], 'no lease is left');
  const live = await c.addPod(h1, 'live');
  const again = await c.call(h1, 'ADD', live, c.conf(h1, { ipam: freshIpam(t, h1) }));
  t.match(again.json, { code: 105 }, 'the control: a live attachment is 105');
});

t.test('bridge naming an existing device that is no bridge is 7 naming bridge', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  await ip(['link', 'add', 'notabr', 'type', 'veth', 'peer', 'name', 'notabr1'], h1.name);
  const pod = await c.lab.container('p');
  const call = { id: `${c.lab.prefix}-p`, path: pod.path, ifname: 'eth0' };
  const r = await c.call(h1, 'ADD', call, c.conf(h1, { bridge: 'notabr' }));
  t.match(r.json, { code: 7, msg: /bridge notabr exists and is a veth/ }, r.stdout);
  t.same(leaseFiles(h1), [], 'no lease is left');
  t.same(await links(pod.name), ['lo'], 'nothing in the pod');
  const ok = await c.call(h1, 'ADD', call, c.conf(h1, { bridge: 'isabr' }));
  t.equal(ok.exitCode, 0, `the control: a free name works: ${ok.stdout}`);
});

t.test('host-local writes last_reserved_ip by rename, never through a symlink', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cs-hl-link-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const victim = join(dataDir, 'victim');
  writeFileSync(victim, 'precious\n');
  mkdirSync(join(dataDir, 'hlnet'));
  symlinkSync(victim, join(dataDir, 'hlnet', 'last_reserved_ip.0'));
  const conf = hlConf(dataDir, { subnet: '10.66.0.0/24' });
  const lab = await Lab.create(t);
  const pod = await lab.container('hl');
  const r = await callPlugin('host-local', conf, {
    command: 'ADD',
    containerId: 'c1',
    ifname: 'eth0',
    netns: pod.path,
  });
  t.equal(r.exitCode, 0, `ADD ${r.stdout}`);
  t.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the target of the link is untouched');
  t.equal(
    readFileSync(join(dataDir, 'hlnet', 'last_reserved_ip.0'), 'utf8'),
    '10.66.0.2',
    'the file is ours now',
  );
});

t.test("a host netns that reuses a deleted one's inode gets nothing of its stamps or notes", async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  await ip(['link', 'set', 'eth0', 'mtu', '9000'], h1.name);
  const a = await c.addPod(h1, 'a', c.conf(h1, { ipMasq: true }));
  t.match(
    await ip(['link', 'show', 'cni0'], h1.name),
    /mtu 9000/,
    'the first netns: its bridge took the uplink MTU',
  );
  t.equal((await c.call(h1, 'DEL', a, c.conf(h1, { ipMasq: true }))).exitCode, 0, 'DEL');
  const again = await c.lab.reuseInode(h1, 1500);
  t.ok(again, 'a new host netns got the inode of the first');
  const b = await c.addPod(h1, 'b', c.conf(h1, { ipMasq: true }));
  t.match(
    await ip(['link', 'show', 'cni0'], h1.name),
    /mtu 1500/,
    'its bridge has the new uplink MTU, not a note of the old',
  );
  t.match(
    (await inNs(h1.name, 'nft', ['list', 'ruleset'])).stdout,
    /masquerade/,
    'its masquerade rule is written',
  );
  const check = await c.call(h1, 'CHECK', b, { ...c.conf(h1, { ipMasq: true }), prevResult: b.result });
  t.equal(check.exitCode, 0, `CHECK passes ${check.stdout}`);
  t.equal((await c.call(h1, 'DEL', b, c.conf(h1, { ipMasq: true }))).exitCode, 0, 'DEL');
});
