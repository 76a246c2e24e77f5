// Runtimes and test rigs often enter the node's netns with a plain `nsenter --net`, which does not
// remount /sys: there /sys/class/net shows another netns. The plugins read links through netlink,
// so they work the same; this runs them that way.
import { execa } from 'execa';
import t from 'tap';
import { Cluster, type ClusterHost } from '../helpers/cluster.js';
import { BIN, bin } from '../helpers/plugin.js';
import { pings } from '../helpers/tcp.js';

for (const opts of [{ plugin: 'bridge-route' }, { plugin: 'vxlan', underlay: 'routed' as const }]) {
  t.test(`${opts.plugin} under a plain nsenter --net`, async (t) => {
    const c = await Cluster.create(t, opts);
    const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
    const b = await c.addPod(h2, 'b');
    const ns = await c.lab.container('a');
    const call = (command: string) =>
      execa('nsenter', [`--net=${h1.path}`, bin(opts.plugin)], {
        env: {
          PATH: process.env.PATH ?? '',
          CNI_COMMAND: command,
          CNI_CONTAINERID: 'nsenter1',
          CNI_NETNS: ns.path,
          CNI_IFNAME: 'eth0',
          CNI_PATH: BIN,
        },
        extendEnv: false,
        input: JSON.stringify(c.conf(h1)),
        reject: false,
      });
    const add = await call('ADD');
    t.equal(add.exitCode, 0, `ADD ${add.stdout}`);
    t.ok(await pings(ns.name, b.ip), 'the pod reaches the other host');
    t.equal((await call('DEL')).exitCode, 0, 'DEL');
  });
}
