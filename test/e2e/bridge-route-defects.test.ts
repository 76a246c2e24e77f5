// Regressions of the engine issue's defects, each on the real kernel through the built plugin, and
// every verb after each: a repeated ADD, DEL with bad or missing inputs, GC's reach, peer input,
// and two networks sharing a host.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import t from 'tap';
import { RULES_TRUSTED_MS } from '../../lib/engine/firewall.js';
import { ageStamps, Cluster, type ClusterHost, leaseFiles, type Pod } from '../helpers/cluster.js';
import { inNs, ip, OUTSIDE_IP } from '../helpers/lab.js';
import { callPlugin } from '../helpers/plugin.js';
import type { Tap } from '../helpers/scenario.js';
import { pings, tcpSend, tcpServer } from '../helpers/tcp.js';

const withPrev = (c: Cluster, pod: Pod, extra: Record<string, unknown> = {}) => ({
  ...c.conf(pod.host, extra),
  prevResult: pod.result,
});
const hostLinks = async (host: ClusterHost) =>
  (JSON.parse(await ip(['-j', 'link', 'show'], host.name)) as { ifname: string; ifalias?: string }[])
    .filter((l) => l.ifalias?.startsWith('cni-suite/'))
    .map((l) => l.ifname);
const nftText = async (host: ClusterHost) =>
  (await inNs(host.name, 'nft', ['list', 'table', 'inet', 'cni_suite'], { reject: false })).stdout;
const gcConf = (c: Cluster, host: ClusterHost, keep: Pod[], extra: Record<string, unknown> = {}) => ({
  ...c.conf(host, extra),
  cniVersion: '1.1.0',
  'cni.dev/valid-attachments': keep.map((p) => ({ containerID: p.id, ifname: p.ifname })),
});
const nobody = { id: '', path: '', ifname: '' };

/**
 * A PATH holding ip, nsenter and flock, and either no `nft` or one that logs each run (its
 * arguments, a line each) before running the real one.
 */
function toolsPath(
  t: Tap,
  nft: 'missing' | 'logged',
): { path: string; nftRuns: () => string[]; ipRuns: () => string[]; clear: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cs-nft-${nft}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const tool of ['/usr/bin/nsenter', '/usr/bin/flock']) symlinkSync(tool, join(dir, basename(tool)));
  const log = join(dir, 'runs');
  writeFileSync(log, '');
  const logged = (tool: string) => {
    writeFileSync(
      join(dir, basename(tool)),
      `#!/bin/sh\necho "${basename(tool)} $*" >> ${log}\nexec ${tool} "$@"\n`,
    );
    chmodSync(join(dir, basename(tool)), 0o755);
  };
  logged('/usr/sbin/ip');
  if (nft === 'logged') logged('/usr/sbin/nft');
  const runs = (tool: string) =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(`${tool} `))
      .map((l) => l.slice(tool.length + 1));
  return {
    path: dir,
    nftRuns: () => runs('nft'),
    ipRuns: () => runs('ip'),
    clear: () => writeFileSync(log, ''),
  };
}

/** `command` for `pod` by bridge-route run with `path` as its PATH. */
const callWithPath = (
  command: string,
  pod: { id: string; path: string; host: ClusterHost },
  conf: Record<string, unknown>,
  path: string,
) =>
  callPlugin('bridge-route', conf, {
    command,
    containerId: pod.id,
    netns: pod.path,
    ifname: 'eth0',
    hostNetns: pod.host.name,
    env: { PATH: path },
  });
const delWithPath = (pod: Pod, conf: Record<string, unknown>, path: string) =>
  callWithPath('DEL', pod, conf, path);

t.test('DEL deletes the host link with one ip run; a second DEL, finding it gone, runs none', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const pod = await c.addPod(h1, 'p');
  const tools = toolsPath(t, 'logged');
  t.equal((await delWithPath(pod, c.conf(h1), tools.path)).exitCode, 0, 'DEL');
  t.match(tools.ipRuns(), [/^link del dev v\w+$/], 'it deleted the host link with one ip run');
  t.same(await hostLinks(h1), [], 'the link is gone');
  tools.clear();
  t.equal((await delWithPath(pod, c.conf(h1), tools.path)).exitCode, 0, 'a second DEL');
  t.same(tools.ipRuns(), [], 'it ran no ip: /proc/self/net/dev has no such link');
  t.same(leaseFiles(h1), [], 'no lease left');
});

t.test('a repeated ADD of a live attachment is refused and leaves the live pod working', async (t) => {
  const c = await Cluster.create(t, { hosts: 1, podSets: true });
  const [h1] = c.hosts as [ClusterHost];
  const a = await c.addPod(h1, 'a');
  const b = await c.addPod(h1, 'b');
  const again = await c.call(h1, 'ADD', a);
  t.equal(again.exitCode, 1, 'the second ADD fails');
  t.match(again.json, { code: 102, msg: /already holds/ }, 'with a clear error');
  t.ok(await pings(a.name, b.ip), 'the first pod still has its eth0 and reaches its neighbour');
  t.ok(await pings(b.name, a.ip), 'and is reached');
  t.equal((await c.call(h1, 'CHECK', a, withPrev(c, a))).exitCode, 0, 'CHECK passes');
  t.match(await nftText(h1), a.id, 'its firewall entry is still there');
  t.equal((await c.call(h1, 'DEL', a)).exitCode, 0, 'DEL');
  t.equal((await c.call(h1, 'DEL', b)).exitCode, 0);
  t.same(await hostLinks(h1), [], 'nothing left');
  t.same(leaseFiles(h1), []);
});

t.test(
  'a repeated ADD whose IPAM would answer (new IPAM state) still meets the live veth: 105',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1 });
    const [h1] = c.hosts as [ClusterHost];
    const a = await c.addPod(h1, 'a');
    // Another data dir: IPAM knows nothing of `a`, so only the host link can tell it is attached.
    const fresh = mkdtempSync(join(tmpdir(), 'cs-ipam-fresh-'));
    t.teardown(() => rmSync(fresh, { recursive: true, force: true }));
    const ipam = { type: 'host-local', ranges: [[{ subnet: h1.podCIDR }]], dataDir: fresh };
    const again = await c.call(h1, 'ADD', a, c.conf(h1, { ipam }));
    t.match(again.json, { code: 105, msg: /attached as eth0 already/ }, 'refused, naming the attachment');
    t.same(leaseFiles({ dataDir: fresh }), [], 'the lease this ADD took was released');
    t.ok(await pings(a.name, '10.244.1.1'), 'the live pod still reaches its gateway');
  },
);

t.test(
  'DEL is total: ADD-time config errors, a malformed prevResult, a vanished netns, no nft',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1, podSets: true });
    const [h1] = c.hosts as [ClusterHost];
    const cases: [string, (pod: Pod) => Promise<Record<string, unknown>>][] = [
      ['config that ADD refuses', async () => c.conf(h1, { isolation: 'total', mtu: 20, peers: 'none' })],
      [
        'a malformed prevResult',
        async (pod) => withPrev(c, pod, { prevResult: { ips: [{ address: 'x' }] } }),
      ],
      [
        'a vanished netns',
        async (pod) => {
          await ip(['netns', 'del', pod.name]);
          return c.conf(h1);
        },
      ],
    ];
    for (const [what, prepare] of cases) {
      const pod = await c.addPod(h1, `p${cases.findIndex((x) => x[0] === what)}`);
      const conf = await prepare(pod);
      const del = await c.call(h1, 'DEL', pod, conf);
      t.equal(del.exitCode, 0, `DEL with ${what} ${del.stdout}`);
      t.equal((await c.call(h1, 'DEL', pod, conf)).exitCode, 0, `and again (${what})`);
    }
    // No nft on the plugin's PATH: ip and the rest are there, nft is not.
    const pod = await c.addPod(h1, 'nonft');
    const bin = toolsPath(t, 'missing').path;
    t.notOk(existsSync(join(bin, 'nft')), 'positive control: nft is really missing from that PATH');
    const noNft = await delWithPath(pod, c.conf(h1), bin);
    t.equal(noNft.exitCode, 0, `DEL without nft ${noNft.stdout}`);
    t.same(await hostLinks(h1), [], 'every host link is gone');
    t.same(leaseFiles(h1), [], 'every lease is released');
    t.notMatch(await nftText(h1), /p0|p1|p2/, 'the firewall entries of the first three are gone');
  },
);

t.test(
  'an address taken again gets its own pod-set entry: one its earlier owner left is replaced, and GC keeps it',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1, podSets: true });
    const [h1] = c.hosts as [ClusterHost];
    const old = await c.addPod(h1, 'old');
    // DEL with no nft on its PATH: the lease and links go, the pod-set entry stays.
    const del = await delWithPath(old, c.conf(h1), toolsPath(t, 'missing').path);
    t.equal(del.exitCode, 0, `DEL without nft ${del.stdout}`);
    t.match(await nftText(h1), old.id, 'the entry of the pod gone is left behind');
    const address = (old.result.ips as { address: string }[])[0]!.address;
    const reuse = await c.addPod(h1, 'reuse', c.conf(h1, { runtimeConfig: { ips: [address] } }));
    t.equal(reuse.ip, old.ip, 'a new pod takes the same address');
    t.match(await nftText(h1), reuse.id, 'its entry carries its own key');
    t.notMatch(await nftText(h1), old.id, "not the earlier owner's");
    const gc = await c.call(h1, 'GC', nobody, gcConf(c, h1, [reuse]));
    t.equal(gc.exitCode, 0, `GC keeping the new pod ${gc.stdout}`);
    t.match(await nftText(h1), reuse.id, 'GC keeps its entry');
    t.equal((await c.call(h1, 'CHECK', reuse, withPrev(c, reuse))).exitCode, 0, 'and CHECK passes');
    t.equal((await c.call(h1, 'DEL', reuse)).exitCode, 0, 'DEL');
    t.notMatch(await nftText(h1), /comment/, 'removes it');
  },
);

t.test(
  "DEL of a live pod removes its pod-set entry by address (one nft run); a late second DEL leaves the address's next owner alone",
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1, podSets: true });
    const [h1] = c.hosts as [ClusterHost];
    const nft = toolsPath(t, 'logged');
    const a = await c.addPod(h1, 'a');
    const b = await c.addPod(h1, 'b');
    t.match(await nftText(h1), a.id, 'positive control: the pod is in a pod set');
    t.equal((await delWithPath(a, withPrev(c, a), nft.path)).exitCode, 0, 'DEL with prevResult');
    t.same(
      nft.nftRuns(),
      ['-f -'],
      'one nft run, no listing: the pod was live, so the addresses in prevResult were its own',
    );
    t.notMatch(await nftText(h1), a.id, 'its entry is gone');
    t.match(await nftText(h1), b.id, "the other pod's entry stays");
    // Without prevResult the entry is found by the attachment's key (listed first).
    const before = nft.nftRuns().length;
    t.equal((await delWithPath(b, c.conf(h1), nft.path)).exitCode, 0, 'DEL without prevResult');
    t.match(nft.nftRuns().slice(before), [/^-j list/], 'looks the entry up by its key');
    t.notMatch(await nftText(h1), /comment/, 'and removes it');
    // The address of a goes to a new pod; a DEL of a again (a runtime retrying) must not touch it.
    const address = (a.result.ips as { address: string }[])[0]!.address;
    const next = await c.addPod(h1, 'next', c.conf(h1, { runtimeConfig: { ips: [address] } }));
    t.equal(next.ip, a.ip, "a new pod holds the first pod's address");
    t.equal(
      (await delWithPath(a, withPrev(c, a), nft.path)).exitCode,
      0,
      'a second DEL of the first pod, same prevResult',
    );
    t.match(await nftText(h1), next.id, "leaves the new pod's entry");
    t.equal((await c.call(h1, 'CHECK', next, withPrev(c, next))).exitCode, 0, 'which checks out');
    t.equal((await c.call(h1, 'DEL', next, withPrev(c, next))).exitCode, 0, 'DEL of the new pod');
    t.notMatch(await nftText(h1), /comment/, 'nothing left');
  },
);

t.test(
  'GC: IPAM GC runs when the peersFile is unreadable (a directory); links of any kind are found by alias',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1, podSets: true });
    const [h1] = c.hosts as [ClusterHost];
    const keep = await c.addPod(h1, 'keep');
    const stale = await c.addPod(h1, 'stale');
    // A host link of another kind, owned by an attachment GC does not keep.
    await ip(['link', 'add', 'ghost0', 'type', 'bridge'], h1.name);
    await ip(['link', 'set', 'ghost0', 'alias', 'cni-suite/podnet/ghost/eth0'], h1.name);
    const gc = await c.call(h1, 'GC', nobody, gcConf(c, h1, [keep], { peersFile: h1.dataDir }));
    t.match(gc.json, { code: 7, msg: /peersFile .* cannot be read/ }, 'the unreadable peersFile is reported');
    t.same(leaseFiles(h1), [keep.ip], 'but the stale lease was released');
    t.equal((await hostLinks(h1)).length, 1, 'the stale veth and the ghost bridge are gone');
    t.notMatch(await nftText(h1), stale.id, 'the stale firewall entry is gone');
    t.equal((await c.call(h1, 'GC', nobody, gcConf(c, h1, [keep]))).exitCode, 0, 'GC with a good config');
    t.equal((await c.call(h1, 'CHECK', keep, withPrev(c, keep))).exitCode, 0, 'the kept pod checks out');
  },
);

t.test('a peer podCIDR with host bits is code 7 naming the field, and nothing is created', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const ns = await c.lab.container('bad');
  const conf = c.conf(h1, { peers: [{ name: 'h2', nodeIP: '192.168.100.12', podCIDR: '10.244.2.7/24' }] });
  const r = await c.call(h1, 'ADD', { id: 'bad', path: ns.path, ifname: 'eth0' }, conf);
  t.match(r.json, {
    code: 7,
    msg: 'peers[0].podCIDR "10.244.2.7/24" has host bits set; use "10.244.2.0/24"',
  });
  t.same(await hostLinks(h1), []);
  t.notOk(existsSync(join(h1.dataDir, 'podnet')), 'IPAM was never asked');
  const fixed = c.conf(h1, { peers: [{ name: 'h2', nodeIP: '192.168.100.12', podCIDR: '10.244.2.0/24' }] });
  const ok = await c.call(h1, 'ADD', { id: 'bad', path: ns.path, ifname: 'eth0' }, fixed);
  t.equal(ok.exitCode, 0, 'positive control: the same ADD with the subnet written right works');
  t.match(await ip(['route', 'show', 'proto', '201'], h1.name), '10.244.2.0/24 via 192.168.100.12');
});

t.test(
  'two bridge-route networks on one host keep their own peer routes through ADD, DEL and GC',
  async (t) => {
    const c = await Cluster.create(t);
    const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
    // A second network: its own bridge, subnets 10.245.<n>.0/24, its own peers, its own leases.
    const netB = (h: ClusterHost) => {
      const dataDir = join(h.dataDir, 'b');
      mkdirSync(dataDir, { recursive: true });
      return c.conf(h, {
        name: 'netb',
        bridge: 'cnib',
        clusterCIDR: '10.245.0.0/16',
        peers: c.hosts.map((x, i) => ({ name: x.name, nodeIP: x.ip, podCIDR: `10.245.${i + 1}.0/24` })),
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: `10.245.${c.hosts.indexOf(h) + 1}.0/24` }]],
          dataDir,
        },
      });
    };
    const a1 = await c.addPod(h1, 'a1');
    const b1 = await c.addPod(h1, 'b1', netB(h1));
    const a2 = await c.addPod(h2, 'a2');
    const b2 = await c.addPod(h2, 'b2', netB(h2));
    const routes = () => ip(['route', 'show', 'proto', '201'], h1.name);
    const both = async (when: string) => {
      const r = await routes();
      t.match(r, `10.244.2.0/24 via ${h2.ip}`, `network podnet's route on h1 ${when}`);
      t.match(r, `10.245.2.0/24 via ${h2.ip}`, `network netb's route on h1 ${when}`);
    };
    await both('after both ADDs');
    t.ok(await pings(a1.name, a2.ip), 'podnet across hosts');
    t.ok(await pings(b1.name, b2.ip), 'netb across hosts');
    t.equal((await c.call(h1, 'GC', nobody, gcConf(c, h1, [a1]))).exitCode, 0, 'GC of podnet');
    t.equal(
      (await c.call(h1, 'GC', nobody, { ...gcConf(c, h1, [b1]), ...netB(h1), cniVersion: '1.1.0' })).exitCode,
      0,
      'GC of netb',
    );
    await both('after both GCs');
    t.equal((await c.call(h1, 'DEL', a1)).exitCode, 0);
    const a3 = await c.addPod(h1, 'a3');
    await both('after a DEL and an ADD of podnet');
    t.ok(await pings(b1.name, b2.ip), 'netb still crosses hosts');
    t.ok(await pings(a3.name, a2.ip), 'and podnet too');
    // A GC of netb with a peer gone removes netb's route only.
    const fewer = {
      ...netB(h1),
      peers: [],
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [{ containerID: b1.id, ifname: 'eth0' }],
    };
    t.equal((await c.call(h1, 'GC', nobody, fewer)).exitCode, 0);
    const after = await routes();
    t.notMatch(after, '10.245.2.0/24', "netb's route is gone with its peer");
    t.match(after, '10.244.2.0/24', "podnet's route stays");
  },
);

t.test(
  'a 128-character container ID: its firewall key is a hash (an nft comment holds 128 bytes)',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1, podSets: true });
    const [h1] = c.hosts as [ClusterHost];
    const ns = await c.lab.container('long');
    const pod = { id: `c${'0123456789abcdef'.repeat(8)}`.slice(0, 128), path: ns.path, ifname: 'eth0' };
    const add = await c.call(h1, 'ADD', pod);
    t.equal(add.exitCode, 0, `ADD ${add.stdout}`);
    const nft = async () => (await inNs(h1.name, 'nft', ['list', 'table', 'inet', 'cni_suite'])).stdout;
    t.match(await nft(), /comment "#[0-9a-f]{16}"/, 'the pod address is in the pod set under the hashed key');
    t.equal(
      (await c.call(h1, 'CHECK', pod, { ...c.conf(h1), prevResult: add.json })).exitCode,
      0,
      'CHECK finds it',
    );
    t.equal((await c.call(h1, 'DEL', pod)).exitCode, 0, 'DEL');
    t.notMatch(await nft(), /comment/, 'and removes it');
  },
);

t.test('an ADD that fails after creating the bridge removes it (nothing else uses it yet)', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const ns = await c.lab.container('taken');
  // The pod already has an eth0: the veth's pod end cannot take the name, after the bridge was made.
  await ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0'], ns.name);
  const pod = { id: 'taken', path: ns.path, ifname: 'eth0' };
  const r = await c.call(h1, 'ADD', pod);
  t.equal(r.exitCode, 1, `ADD fails: ${r.stdout}`);
  t.equal(await ip(['link', 'show', 'type', 'bridge'], h1.name), '', 'no bridge is left');
  t.same(leaseFiles(h1), [], 'no lease is left');
  // The control: on a pod without eth0 the same ADD makes the bridge and keeps it.
  const ok = await c.addPod(h1, 'fine');
  t.match(await ip(['link', 'show', 'type', 'bridge'], h1.name), /cni0/, 'a working ADD keeps its bridge');
  t.equal((await c.call(h1, 'DEL', ok)).exitCode, 0);
});

t.test(
  'ipMasq off: no pod-set entries (no nft run per ADD once the rules are in, none per DEL), and on again',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 2, podSets: true });
    const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
    const off = { ...c.conf(h1), ipMasq: false };
    const early = await c.addPod(h1, 'm0');
    t.match(await nftText(h1), early.id, 'positive control: with ipMasq the pod is in a pod set');
    const a = await c.addPod(h1, 'm1', off);
    const b = await c.addPod(h1, 'm2', off);
    const far = await c.addPod(h2, 'far');
    t.notMatch(await nftText(h1), /comment/, 'no pod address is in a pod set: no rule would read it');
    t.ok(await pings(a.name, b.ip), 'pods on the host reach each other');
    t.ok(await pings(a.name, far.ip), 'and the other host');
    t.equal((await c.call(h1, 'CHECK', a, { ...off, prevResult: a.result })).exitCode, 0, 'CHECK passes');
    const nft = toolsPath(t, 'logged');
    t.equal((await delWithPath(b, off, nft.path)).exitCode, 0, 'DEL with ipMasq off');
    t.same(nft.nftRuns(), [], 'runs no nft: the pod sets are empty while no rule reads them');
    // The same network with ipMasq on: the next ADD writes the masquerade rule and its entries.
    const on = await c.addPod(h1, 'm3', c.conf(h1));
    t.match(await nftText(h1), /masquerade/, 'ipMasq on again: the masquerade rule is back');
    t.match(
      await nftText(h1),
      new RegExp(`${on.ip.replace(/\./g, '\\.')} comment`),
      'with the new pod in its set',
    );
    t.equal((await delWithPath(on, c.conf(h1), nft.path)).exitCode, 0, 'DEL with ipMasq on');
    t.not(
      nft.nftRuns().length,
      0,
      'positive control: that DEL looks in the pod sets (through the same PATH)',
    );
    t.notMatch(await nftText(h1), /comment/, 'and removes its entry');
    for (const p of [early, a]) t.equal((await c.call(h1, 'DEL', p)).exitCode, 0, `DEL ${p.name}`);
  },
);

t.test(
  "ipMasq by this host's pod subnet: once the rules are in, ADD and DEL start no nft; a config change empties the pod sets",
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1 });
    const [h1] = c.hosts as [ClusterHost];
    // The same network, first from a config naming no pod subnet: its pod's address is in a pod set.
    const unnamed = {
      ...c.conf(h1),
      peers: [],
      ipam: { type: 'host-local', dataDir: h1.dataDir },
      runtimeConfig: { ipRanges: [[{ subnet: h1.podCIDR }]] },
    };
    const old = await c.addPod(h1, 'old', unnamed);
    t.match(await nftText(h1), old.id, 'positive control: without a pod subnet the pod is in a pod set');
    t.match(await nftText(h1), /ip saddr @\w+_pods4 ip daddr != @\w+_cluster4 masquerade/);
    const first = await c.addPod(h1, 'first');
    const rules = await nftText(h1);
    t.match(rules, /ip saddr 10\.244\.1\.0\/24 ip daddr != @\w+_cluster4 masquerade/, 'by the subnet now');
    t.notMatch(rules, /comment/, 'and the pod sets are emptied');
    const nft = toolsPath(t, 'logged');
    const ns = await c.lab.container('next');
    const next = { id: `${c.lab.prefix}-next`, path: ns.path, host: h1 };
    const add = await callWithPath('ADD', next, c.conf(h1), nft.path);
    t.equal(add.exitCode, 0, `ADD ${add.stdout}`);
    t.same(nft.nftRuns(), [], 'the ADD ran no nft');
    // Positive control, through the same PATH: with the rules stamped over 30 s ago, an ADD writes them.
    ageStamps(h1, 'nft', RULES_TRUSTED_MS + 1000);
    const ns2 = await c.lab.container('later');
    const later = { id: `${c.lab.prefix}-later`, path: ns2.path, host: h1 };
    t.equal((await callWithPath('ADD', later, c.conf(h1), nft.path)).exitCode, 0, 'a later ADD');
    t.same(nft.nftRuns(), ['-f -'], 'rewrote the rules, in one nft run');
    nft.clear();
    await tcpServer(c.outside.name, 7010);
    for (const pod of [first, old]) {
      t.same(
        await tcpSend(pod.name, OUTSIDE_IP, 7010),
        { from: h1.ip, bytes: 100_000 },
        `the outside sees the host's address for ${pod.name}`,
      );
    }
    const addr = ((add.json?.ips ?? []) as { address: string }[])[0]!.address.split('/')[0]!;
    t.ok(await pings(ns.name, first.ip), `the new pod (${addr}) reaches its neighbour`);
    for (const pod of [next, later, first, old]) {
      const del = await callWithPath('DEL', pod, c.conf(h1), nft.path);
      t.equal(del.exitCode, 0, `DEL ${pod.id} ${del.stdout}`);
    }
    t.same(nft.nftRuns(), [], 'no DEL ran nft');
    t.same(leaseFiles(h1), [], 'every lease is released');
    t.same(await hostLinks(h1), [], 'every host link is gone');
  },
);
