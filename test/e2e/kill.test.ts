import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { Cluster, type ClusterHost, leaseFiles } from '../helpers/cluster.js';
import { inNs, ip } from '../helpers/lab.js';
import { BIN, bin } from '../helpers/plugin.js';

// kill -9 at any point of ADD, then DEL, leaves nothing: for each plugin, and for DEL coming while
// the killed ADD's children still run.

/** Kills that must land while the ADD is still running; rounds where ADD finished first do not count. */
const KILLS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// bridge-route's config names no pod subnet, so each ADD writes its pod's nft elements, which a kill
// could leak; vxlan's names it, as the bridge plugins' configs usually do.
const PLUGINS = [
  { plugin: 'bridge-route', hosts: 2, podSets: true },
  { plugin: 'vxlan', hosts: 3, underlay: 'routed' as const },
  { plugin: 'macvlan', hosts: 1 },
];

for (const opts of PLUGINS)
  t.test(
    `${opts.plugin}: kill -9 during ADD ${KILLS} times, then DEL: no veth, lease or rule left`,
    async (t) => {
      const c = await Cluster.create(t, opts);
      const [h1] = c.hosts as [ClusterHost, ClusterHost];
      const conf = JSON.stringify(c.conf(h1));
      const env = (cmd: string, id: string, netns: string) => ({
        PATH: process.env.PATH ?? '',
        CNI_COMMAND: cmd,
        CNI_CONTAINERID: id,
        CNI_NETNS: netns,
        CNI_IFNAME: 'eth0',
        CNI_PATH: BIN,
      });
      const run = (cmd: string, id: string, netns: string) =>
        execa('ip', ['netns', 'exec', h1.name, bin(opts.plugin)], {
          env: env(cmd, id, netns),
          extendEnv: false,
          input: conf,
          reject: false,
        });

      // How long a whole ADD takes here (the fastest of a few, after the first built the bridge and
      // rules), so kills land anywhere inside one.
      const probe = await c.lab.container('probe');
      let addMs = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 4; i++) {
        const started = Date.now();
        t.equal((await run('ADD', 'probe', probe.path)).exitCode, 0, 'a complete ADD works');
        if (i > 0) addMs = Math.min(addMs, Date.now() - started);
        t.equal((await run('DEL', 'probe', probe.path)).exitCode, 0);
      }

      let killed = 0;
      let i = 0;
      for (; killed < KILLS && i < KILLS * 6; i++) {
        const ns = await c.lab.container(`k${i}`);
        const id = `kill-${i}`;
        const child = run('ADD', id, ns.path);
        await sleep(Math.random() * addMs * 0.9);
        child.kill('SIGKILL');
        if ((await child).signal === 'SIGKILL') killed++;
        // DEL at once, as a runtime may: the `ip`/`nft` children of the killed ADD may still be running;
        // DEL waits for them (they hold the attachment's lock) before it removes anything.
        const del = await run('DEL', id, ns.path);

        t.equal(del.exitCode, 0, `DEL after kill #${i} ${del.stdout}`);
        await ip(['netns', 'del', ns.name]);
      }
      t.equal(killed, KILLS, `${killed} ADDs killed mid-way in ${i} rounds`);

      const veths = JSON.parse(await ip(['-j', 'link', 'show', 'type', 'veth'], h1.name)) as {
        ifname: string;
      }[];
      t.same(
        veths.map((l) => l.ifname).filter((n) => n !== 'eth0'),
        [],
        'no pod veth left',
      );
      const leases = leaseFiles(h1);
      t.same(leases, [], 'no lease left');
      const nft = (await inNs(h1.name, 'nft', ['list', 'table', 'inet', 'cni_suite'], { reject: false }))
        .stdout;
      t.notMatch(nft, /comment/, 'no firewall entry left');
      const routes = await ip(['route', 'show'], h1.name);
      t.notMatch(routes, /dev v[bx][0-9a-f]/, 'no route through a pod veth left');
      const macvlans = await ip(['link', 'show', 'type', 'macvlan'], h1.name);
      t.equal(macvlans, '', 'no macvlan link in the host');
      if (opts.plugin === 'vxlan') {
        // The network's own entries stay, exactly one per other host.
        const fdb = (await inNs(h1.name, 'bridge', ['fdb', 'show', 'dev', 'vxlan-1'])).stdout;
        t.equal(
          fdb.split('\n').filter((l) => l.includes('permanent')).length,
          opts.hosts - 1,
          'one FDB entry per peer',
        );
      }
    },
  );

t.test(
  'DEL right after a kill -9 waits for the killed ADD’s `ip` still running, then removes its veth',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 1 });
    const [h1] = c.hosts as [ClusterHost];
    // An `ip` that starts 0.7 s late and logs each call: the ADD is killed while one is pending, and
    // that orphan creates the veth after the kill.
    const dir = t.testdir({});
    const calls = join(dir, 'calls');
    const slowIp = [
      '#!/bin/sh',
      // Batches come on stdin: log them too, so the test sees which call is pending.
      'case "$*" in *-batch*) input=$(cat) ;; *) input= ;; esac',
      `printf '%s %s\\n' "$*" "$input" >> ${calls}`,
      'sleep 0.7',
      'printf \'%s\\n\' "$input" | /usr/sbin/ip "$@"',
    ];
    writeFileSync(join(dir, 'ip'), `${slowIp.join('\n')}\n`, { mode: 0o755 });
    const slowPath = `${dir}:${process.env.PATH ?? ''}`;
    // `ip netns exec` itself by its full path: the slow one is only for the plugin's own calls.

    const pod = await c.lab.container('orphan');
    const call = (cmd: string, path: string) =>
      execa('/usr/sbin/ip', ['netns', 'exec', h1.name, bin('bridge-route')], {
        env: {
          PATH: path,
          CNI_COMMAND: cmd,
          CNI_CONTAINERID: 'orphan',
          CNI_NETNS: pod.path,
          CNI_IFNAME: 'eth0',
          CNI_PATH: BIN,
        },
        extendEnv: false,
        input: JSON.stringify(c.conf(h1)),
        reject: false,
      });
    const add = call('ADD', slowPath);
    // Kill once the batch that creates the veth has been started (it is still sleeping).
    while (!(existsSync(calls) && readFileSync(calls, 'utf8').includes('veth'))) await sleep(20);
    add.kill('SIGKILL');
    t.equal((await add).signal, 'SIGKILL', 'the ADD was killed mid-way');
    const del = await call('DEL', process.env.PATH ?? '');
    t.equal(del.exitCode, 0, `DEL ${del.stdout}`);
    await sleep(1500); // anything the orphan would still do has happened by now
    const links = JSON.parse(await ip(['-j', 'link', 'show', 'type', 'veth'], h1.name)) as {
      ifname: string;
    }[];
    t.same(
      links.map((l) => l.ifname).filter((n) => n !== 'eth0'),
      [],
      'no veth left: DEL ran after the orphan',
    );
    t.same(leaseFiles(h1), [], 'no lease left');
  },
);
