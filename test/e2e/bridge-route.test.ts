// bridge-route on the real kernel: two hosts on an underlay, pods on both, real packets.
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { RULES_TRUSTED_MS } from '../../lib/engine/firewall.js';
import { UPLINK_TRUSTED_MS } from '../../lib/engine/uplink.js';
import { ageStamps, Cluster, type ClusterHost, leaseFiles, type Pod } from '../helpers/cluster.js';
import { inNs, ip, OUTSIDE_IP } from '../helpers/lab.js';
import { callPlugin } from '../helpers/plugin.js';
import { pings, tcpSend, tcpServer } from '../helpers/tcp.js';

const withPrev = (c: Cluster, pod: Pod, extra: Record<string, unknown> = {}) => ({
  ...c.conf(pod.host, extra),
  prevResult: pod.result,
});

async function hostVeths(host: ClusterHost): Promise<string[]> {
  const links = JSON.parse(await ip(['-j', 'link', 'show', 'type', 'veth'], host.name)) as {
    ifname: string;
  }[];
  return links.map((l) => l.ifname).filter((n) => n !== 'eth0');
}
async function nftTable(host: ClusterHost): Promise<string> {
  return (await inNs(host.name, 'nft', ['list', 'table', 'inet', 'cni_suite'], { reject: false })).stdout;
}
const leases = (host: ClusterHost) => leaseFiles(host);

// Children started by the addon's posix_spawn (the default), and by child_process without it.
for (const [how, env] of [
  ['', {}],
  [' (CNI_SUITE_NO_ADDON=1: child_process starts ip and nft)', { CNI_SUITE_NO_ADDON: '1' }],
] as const)
  t.test(
    `pods on two hosts: direct routes, no NAT inside the cluster, masquerade to the outside${how}`,
    async (t) => {
      const c = await Cluster.create(t, { env });
      const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
      const a1 = await c.addPod(h1, 'a1');
      const a2 = await c.addPod(h1, 'a2');
      const b1 = await c.addPod(h2, 'b1');
      t.match(a1.ip, /^10\.244\.1\./);
      t.match(b1.ip, /^10\.244\.2\./);
      t.match(a1.result, {
        interfaces: [{ name: 'cni0' }, { name: /^vb/ }, { name: 'eth0', sandbox: a1.path }],
        ips: [{ interface: 2, gateway: '10.244.1.1' }],
      });

      t.ok(await pings(a1.name, b1.ip), 'a1 → b1 across hosts');
      t.ok(await pings(b1.name, a1.ip), 'b1 → a1 across hosts');
      t.ok(await pings(a1.name, a2.ip), 'a1 → a2 on the same bridge');
      t.match(
        await ip(['route', 'show', 'proto', '201'], h1.name),
        `10.244.2.0/24 via ${h2.ip}`,
        'peer route on h1',
      );

      await tcpServer(b1.name, 7000);
      t.same(
        await tcpSend(a1.name, b1.ip, 7000),
        { from: a1.ip, bytes: 100_000 },
        'TCP across hosts; b1 sees a1 real IP',
      );
      await tcpServer(c.outside.name, 7001);
      t.same(
        await tcpSend(a1.name, OUTSIDE_IP, 7001),
        { from: h1.ip, bytes: 100_000 },
        'outside sees the host address',
      );

      const check = await c.call(h1, 'CHECK', a1, withPrev(c, a1));
      t.equal(check.exitCode, 0, `CHECK passes after ADD ${check.stdout}`);
      await ip(['route', 'del', 'default'], a1.name);
      const broken = await c.call(h1, 'CHECK', a1, withPrev(c, a1));
      t.match(
        broken.json,
        { code: 103, msg: /route 0\.0\.0\.0\/0 via 10\.244\.1\.1 is missing/ },
        'CHECK fails once the route is gone',
      );

      for (const pod of [a1, a2]) {
        for (const round of [1, 2])
          t.equal((await c.call(h1, 'DEL', pod)).exitCode, 0, `DEL ${pod.name} #${round}`);
      }
      t.same(await hostVeths(h1), [], 'no veth left on h1');
      t.same(leases(h1), [], 'no lease left on h1');
    },
  );

t.test('DEL is total: no netns, empty CNI_NETNS, never added, no prevResult', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const pod = await c.addPod(h1, 'p1');
  await ip(['netns', 'del', pod.name]);
  const noNetns = await c.call(h1, 'DEL', { ...pod, path: '' });
  t.equal(noNetns.exitCode, 0, `DEL with empty CNI_NETNS after the netns vanished ${noNetns.stdout}`);
  const again = await c.call(h1, 'DEL', pod);
  t.equal(again.exitCode, 0, 'DEL naming a netns that no longer exists');
  const never = await c.call(h1, 'DEL', { id: 'never-added', path: '', ifname: 'eth0' });
  t.equal(never.exitCode, 0, 'DEL of an attachment that never existed');
  t.same(await hostVeths(h1), []);
  t.same(leases(h1), []);
});

t.test('a netns given as /proc/PID/ns/net (containerd), DEL with an empty CNI_NETNS', async (t) => {
  const c = await Cluster.create(t);
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const b1 = await c.addPod(h2, 'b1');
  const ns = await c.lab.container('pid');
  const holder = execa('ip', ['netns', 'exec', ns.name, 'sleep', '60'], { reject: false });
  t.teardown(() => holder.kill());
  await new Promise((r) => setTimeout(r, 100));
  const pod = { id: 'by-pid', path: `/proc/${holder.pid}/ns/net`, ifname: 'eth0' };
  const add = await c.call(h1, 'ADD', pod);
  t.equal(add.exitCode, 0, `ADD by /proc path ${add.stdout}`);
  const ip1 = ((add.json?.ips ?? []) as { address: string }[])[0]!.address.split('/')[0]!;
  t.ok(await pings(ns.name, b1.ip), 'the pod reaches the other host');
  t.ok(await pings(b1.name, ip1), 'and is reached from it');
  const del = await c.call(h1, 'DEL', { ...pod, path: '' });
  t.equal(del.exitCode, 0, 'DEL with empty CNI_NETNS, as containerd sends it');
  t.same(await hostVeths(h1), [], 'no veth left');
});

t.test('firewall rules come back after being removed by hand, and follow config changes', async (t) => {
  const c = await Cluster.create(t);
  const [h1] = c.hosts as [ClusterHost, ClusterHost];
  const a1 = await c.addPod(h1, 'a1');
  t.match(await nftTable(h1), /masquerade/);
  t.equal((await c.call(h1, 'CHECK', a1, withPrev(c, a1))).exitCode, 0, 'CHECK passes with the rules in');
  await inNs(h1.name, 'nft', ['delete', 'table', 'inet', 'cni_suite']);
  await c.addPod(h1, 'a2');
  t.equal(await nftTable(h1), '', 'an ADD soon after trusts the rules it applied: no nft run');
  t.match(
    (await c.call(h1, 'CHECK', a1, withPrev(c, a1))).json,
    { code: 103, msg: /firewall chain inet cni_suite n\w+_post of network podnet is missing/ },
    'CHECK names the missing chain',
  );
  ageStamps(h1, 'nft', RULES_TRUSTED_MS + 1000);
  await c.addPod(h1, 'a3');
  t.match(
    await nftTable(h1),
    /ip saddr 10\.244\.1\.0\/24 .* masquerade/,
    'an ADD once they were applied over RULES_TRUSTED_MS ago rewrote the deleted table',
  );
  await c.addPod(h1, 'a4', c.conf(h1, { internal: true }));
  const rules = await nftTable(h1);
  t.notMatch(rules, /masquerade/, 'internal: no masquerade chain any more');
  t.match(rules, /drop/, 'internal: the drop rule is there');
  // GC writes the rules whatever the stamp says.
  await inNs(h1.name, 'nft', ['delete', 'table', 'inet', 'cni_suite']);
  const gcConf = { ...c.conf(h1, { internal: true }), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] };
  t.equal((await c.call(h1, 'GC', { id: '', path: '', ifname: '' }, gcConf)).exitCode, 0, 'GC');
  t.match(await nftTable(h1), /ip saddr 10\.244\.1\.0\/24 .* drop/, 'GC rewrote the deleted table at once');
});

t.test('mtu follows the uplink; hairpinMode and promiscMode; STATUS without nft or IPAM', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  await ip(['link', 'set', 'eth0', 'mtu', '1400'], h1.name);
  const pod = await c.addPod(h1, 'p1', c.conf(h1, { hairpinMode: true, promiscMode: true }));
  t.match(await ip(['link', 'show', 'eth0'], pod.name), /mtu 1400/, 'pod MTU = uplink MTU');
  // ADD reuses what an ADD read of the uplink in the last UPLINK_TRUSTED_MS, then reads it again.
  await ip(['link', 'set', 'eth0', 'mtu', '1380'], h1.name);
  const recalled = await c.addPod(h1, 'p1b');
  t.match(await ip(['link', 'show', 'eth0'], recalled.name), /mtu 1400/, 'within 30 s: the MTU noted by p1');
  ageStamps(h1, 'note', UPLINK_TRUSTED_MS + 1000);
  const reread = await c.addPod(h1, 'p1c');
  t.match(await ip(['link', 'show', 'eth0'], reread.name), /mtu 1380/, 'after it: the uplink read again');
  const port = (pod.result.interfaces as { name: string }[])[1]!.name;
  t.match(await ip(['-d', 'link', 'show', port], h1.name), /hairpin on/, 'hairpin on the pod port');
  t.match(await ip(['link', 'show', 'cni0'], h1.name), /PROMISC/, 'bridge in promiscuous mode');
  const explicit = await c.addPod(h1, 'p2', c.conf(h1, { mtu: 1300 }));
  t.match(await ip(['link', 'show', 'eth0'], explicit.name), /mtu 1300/, 'explicit mtu wins');

  const none = { id: '', path: '', ifname: '' };
  const v11 = { ...c.conf(h1), cniVersion: '1.1.0' };
  t.equal((await c.call(h1, 'STATUS', none, v11)).exitCode, 0, 'STATUS ok with nft and host-local present');
  const noIpam = await callPlugin('bridge-route', v11, {
    command: 'STATUS',
    hostNetns: h1.name,
    path: '/nonexistent',
  });
  t.match(noIpam.json, { code: 50, msg: /host-local/ }, 'STATUS 50 without the IPAM plugin');
  const onlyIp = t.testdir({});
  symlinkSync('/usr/sbin/ip', join(onlyIp, 'ip'));
  const noNft = await callPlugin('bridge-route', v11, {
    command: 'STATUS',
    hostNetns: h1.name,
    env: { PATH: onlyIp },
  });
  t.match(
    noNft.json,
    { code: 50, msg: /^nft \(nftables\) is not installed/ },
    "STATUS 50 without nft (not on the plugin's PATH)",
  );
  const noIp = await callPlugin('bridge-route', v11, {
    command: 'STATUS',
    hostNetns: h1.name,
    env: { PATH: '/nonexistent' },
  });
  t.match(noIp.json, { code: 50, msg: /^ip \(iproute2\) is not installed/ }, 'STATUS 50 without ip');
});

t.test('dual-stack: one IPv4 and one IPv6 address per pod, both work, both cleaned up', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const conf = c.conf(h1, {
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:244:1::/64' }]],
      dataDir: h1.dataDir,
    },
  });
  const p1 = await c.addPod(h1, 'p1', conf);
  const p2 = await c.addPod(h1, 'p2', conf);
  t.match(p1.result, {
    ips: [
      { address: /^10\.244\.1\.\d+\/24$/, gateway: '10.244.1.1' },
      { address: /^fd00:244:1::\w+\/64$/, gateway: 'fd00:244:1::1' },
    ],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00:244:1::1' }],
  });
  const v6 = (p: typeof p1) => (p.result.ips as { address: string }[])[1]!.address.split('/')[0]!;
  t.ok(await pings(p1.name, v6(p2)), 'p1 → p2 over IPv6');
  t.ok(await pings(p1.name, 'fd00:244:1::1'), 'p1 → its IPv6 gateway on the bridge');
  t.match(
    await nftTable(h1),
    /ip6 saddr fd00:244:1::\/64 .* masquerade/,
    'IPv6 traffic leaving the cluster is masqueraded by the IPv6 subnet',
  );
  for (const p of [p1, p2]) t.equal((await c.call(h1, 'DEL', p, conf)).exitCode, 0);
  t.same(leases(h1), [], 'no lease left');
});

t.test('isolation "bridge": pods on one bridge cannot talk, other hosts still can', async (t) => {
  const c = await Cluster.create(t, { conf: { isolation: 'bridge' } });
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const a1 = await c.addPod(h1, 'a1');
  const a2 = await c.addPod(h1, 'a2');
  const b1 = await c.addPod(h2, 'b1');
  t.notOk(await pings(a1.name, a2.ip), 'a1 ↛ a2 (same bridge)');
  await tcpServer(a2.name, 7002);
  t.equal(await tcpSend(a1.name, a2.ip, 7002, 10), undefined, 'no TCP between a1 and a2');
  t.ok(await pings(a1.name, b1.ip), 'a1 → b1 (other host) still works');
  t.ok(await pings(a1.name, '10.244.1.1'), 'a1 → its gateway still works');

  // An allow rule for one pair: a3 and a1 may talk, a3 and a2 still may not.
  const allow = { isolation: 'bridge', isolationAllow: [{ from: `${a1.ip}/32`, to: '10.244.1.0/28' }] };
  const a3 = await c.addPod(h1, 'a3', c.conf(h1, allow));
  t.ok(await pings(a3.name, a1.ip), 'a3 → a1 allowed by isolationAllow');
  t.ok(await pings(a1.name, a3.ip), 'a1 → a3 allowed both ways');
  t.notOk(await pings(a3.name, a2.ip), 'a3 ↛ a2 (not in the allowed pair)');
});

t.test('internal: the cluster is reachable, the outside is not', async (t) => {
  const c = await Cluster.create(t, { conf: { internal: true } });
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const a1 = await c.addPod(h1, 'a1');
  const b1 = await c.addPod(h2, 'b1');
  t.ok(await pings(a1.name, b1.ip), 'a1 → b1');
  t.notOk(await pings(a1.name, OUTSIDE_IP), 'a1 ↛ outside');
  await tcpServer(c.outside.name, 7003);
  t.equal(await tcpSend(a1.name, OUTSIDE_IP, 7003, 10), undefined, 'no TCP to the outside');
});

t.test('GC removes what is not in the valid list; peers follow peersFile', async (t) => {
  const c = await Cluster.create(t);
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const peersFile = join(h1.dataDir, 'peers.json');
  const peers = c.hosts.map((h) => ({ name: h.name, nodeIP: h.ip, podCIDR: h.podCIDR }));
  writeFileSync(peersFile, JSON.stringify(peers));
  const conf = c.conf(h1, { peers: undefined, peersFile });
  const keep = await c.addPod(h1, 'keep', conf);
  await c.addPod(h1, 'stale', conf);
  t.match(await ip(['route', 'show', 'proto', '201'], h1.name), h2.podCIDR);

  writeFileSync(
    peersFile,
    JSON.stringify([
      ...peers.slice(0, 1),
      { name: 'h9', nodeIP: '192.168.100.99', podCIDR: '10.244.9.0/24' },
    ]),
  );
  const gc = await c.call(
    h1,
    'GC',
    { id: '', path: '', ifname: '' },
    {
      ...conf,
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [{ containerID: keep.id, ifname: 'eth0' }],
    },
  );
  t.equal(gc.exitCode, 0, `GC ${gc.stdout}`);
  t.equal((await hostVeths(h1)).length, 1, 'the stale veth is gone');
  t.same(leases(h1), [keep.ip], 'only the kept lease remains');
  const routes = await ip(['route', 'show', 'proto', '201'], h1.name);
  t.notMatch(routes, h2.podCIDR, 'route of the removed peer is gone');
  t.match(routes, '10.244.9.0/24 via 192.168.100.99', 'route of the new peer is there');

  writeFileSync(peersFile, JSON.stringify([{ name: 'far', nodeIP: '10.99.0.1', podCIDR: '10.244.7.0/24' }]));
  const check = await c.call(h1, 'CHECK', keep, { ...conf, prevResult: keep.result });
  t.match(check.json, { code: 104, msg: /far \(10\.99\.0\.1\)/ }, 'CHECK names the peer that is not on-link');
  const status = await c.call(
    h1,
    'STATUS',
    { id: '', path: '', ifname: '' },
    { ...conf, cniVersion: '1.1.0' },
  );
  t.match(status.json, { code: 51, msg: /far/ }, 'STATUS: limited connectivity');
});

t.test('bad config: code 7 naming the field, nothing created', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const ns = await c.lab.container('bad');
  const pod = { id: 'bad1', path: ns.path, ifname: 'eth0' };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ mtu: 20 }, /mtu must be >= 68/],
    [{ isolation: 'total' }, /isolation must be one of "none", "bridge"/],
    [
      { isolationAllow: [{ from: '10.0.0.1', to: '10.0.0.0/24' }] },
      /isolationAllow\[0\]\.from "10.0.0.1" is not a CIDR/,
    ],
    [{ clusterCIDR: '10.244.0.0' }, /clusterCIDR "10.244.0.0" is not a CIDR/],
    [{ peers: [{ name: 'x', nodeIP: 'nope', podCIDR: '10.0.0.0/24' }] }, /peers\[0\]\.nodeIP must be an IP/],
    [{ ipam: undefined }, /ipam is required/],
    [{ bridge: 'a-name-that-is-too-long' }, /bridge must NOT have more than 15 characters/],
    [
      { ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.5/24' }]], dataDir: h1.dataDir } },
      /host bits/,
    ],
  ];
  for (const [extra, msg] of cases) {
    const r = await c.call(h1, 'ADD', pod, c.conf(h1, extra));
    t.match(r.json, { code: 7, msg }, JSON.stringify(extra));
  }
  t.same(await hostVeths(h1), [], 'no veth created');
  t.equal((await ip(['-j', 'link', 'show', 'type', 'bridge'], h1.name)).trim(), '[]', 'no bridge created');
});
