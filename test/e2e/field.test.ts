// What operators hit in the field, on the real kernel: a pod that starts before the node's agent
// has written the peers file (flannel's "subnet.env missing").
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Cluster, type ClusterHost } from '../helpers/cluster.js';
import { ip } from '../helpers/lab.js';
import { pings } from '../helpers/tcp.js';

t.test(
  'a peers file not written yet: ADD works without routes to other hosts, STATUS is 50, nothing is pruned',
  async (t) => {
    const c = await Cluster.create(t, { hosts: 2 });
    const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
    const peersFile = join(h1.dataDir, 'peers.json');
    const peers = c.hosts.map((h) => ({ name: h.name, nodeIP: h.ip, podCIDR: h.podCIDR }));
    const conf = (extra: Record<string, unknown> = {}) =>
      c.conf(h1, { peers: undefined, peersFile, ...extra });
    const v11 = { ...conf(), cniVersion: '1.1.0' };
    const nobody = { id: '', path: '', ifname: '' };
    const routes = async () => ip(['route', 'show', 'proto', '201'], h1.name);

    const early = await c.addPod(h1, 'early', conf());
    t.ok(early.ip, 'ADD before the peers file exists gives the pod an address');
    t.ok(await pings(early.name, '10.244.1.1'), 'and the pod reaches its gateway');
    t.equal(await routes(), '', 'no route to another host yet');
    const status = await c.call(h1, 'STATUS', nobody, v11);
    t.match(
      status.json,
      { code: 50, msg: /peersFile ".*peers\.json" does not exist yet/ },
      `STATUS: ${status.stdout}`,
    );
    const check = await c.call(h1, 'CHECK', early, { ...conf(), prevResult: early.result });
    t.equal(check.exitCode, 0, `CHECK passes ${check.stdout}`);

    writeFileSync(peersFile, JSON.stringify(peers));
    t.equal((await c.call(h1, 'STATUS', nobody, v11)).exitCode, 0, 'STATUS ready once the file is there');
    const gc = await c.call(h1, 'GC', nobody, {
      ...v11,
      'cni.dev/valid-attachments': [{ containerID: early.id, ifname: 'eth0' }],
    });
    t.equal(gc.exitCode, 0, 'GC (as the agent reconciles)');
    t.match(await routes(), `${h2.podCIDR} via ${h2.ip}`, 'routes to the other host come with the file');
    const other = await c.addPod(h2, 'other', c.conf(h2));
    t.ok(await pings(early.name, other.ip), 'and the early pod reaches a pod on it');

    rmSync(peersFile);
    const late = await c.addPod(h1, 'late', conf());
    t.ok(late.ip, 'an ADD while the file is gone again still works');
    t.equal(
      (await c.call(h1, 'GC', nobody, { ...v11, 'cni.dev/valid-attachments': [] })).exitCode,
      0,
      'and GC',
    );
    t.match(await routes(), `${h2.podCIDR} via ${h2.ip}`, 'neither pruned the routes it could not judge');
  },
);
