// CNI_* values that `ip -batch` would cut or reinterpret ("#" starts a comment, quotes and backslashes
// are syntax, whitespace separates) are refused at the edge with code 4, before anything is created.
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Cluster } from '../helpers/cluster.js';
import { ip } from '../helpers/lab.js';
import { BIN, callPlugin } from '../helpers/plugin.js';

const c = await Cluster.create(t, { hosts: 1 });
const host = c.hosts[0]!;
const pod = await c.lab.container('pod');
const conf = c.conf(host);

/** Every link of a netns, by name (and alias, so a renamed or half-made link shows too). */
const links = async (netns: string) =>
  (JSON.parse(await ip(['-j', 'link', 'show'], netns)) as { ifname: string; ifalias?: string }[])
    .map((l) => `${l.ifname} ${l.ifalias ?? ''}`)
    .sort();

const call = (command: string, over: { ifname?: string; netns?: string; containerId?: string }) =>
  callPlugin('bridge-route', conf, {
    command,
    containerId: 'inject1',
    netns: pod.path,
    ifname: 'eth0',
    ...over,
    hostNetns: host.name,
    path: BIN,
  });

async function refused(
  t: Test,
  variable: string,
  over: { ifname?: string; netns?: string },
  commands = ['ADD', 'CHECK', 'DEL'],
) {
  const what = `${variable}=${JSON.stringify(over.ifname ?? over.netns)}`;
  const before = { host: await links(host.name), pod: await links(pod.name) };
  for (const command of commands) {
    const r = await call(command, over);
    t.equal(r.exitCode, 1, `${command} ${what}: exit 1`);
    t.match(
      r.json,
      { code: 4, msg: new RegExp(`^${variable} `) },
      `${command} ${what}: code 4 naming ${variable}`,
    );
  }
  t.same(await links(host.name), before.host, `${what}: no link created in the host netns`);
  t.same(await links(pod.name), before.pod, `${what}: no link created in the pod netns`);
}

t.test('CNI_IFNAME with batch syntax or whitespace', async (t) => {
  for (const ifname of ['net#1', '"eth0', "eth0'", 'a\\b', 'eth 0', 'eth\t0', 'eth0\n', '\neth0'])
    await refused(t, 'CNI_IFNAME', { ifname });
});

t.test('CNI_NETNS with batch syntax or whitespace (an existing netns, by symlink)', async (t) => {
  const dir = t.testdir({});
  for (const name of ['pod#1', 'pod"1', "pod'1", 'pod 1', 'pod\\1']) {
    const path = join(dir, name);
    symlinkSync(pod.path, path);
    await refused(t, 'CNI_NETNS', { netns: path });
  }
});

t.test('the same attachment with clean values still works', async (t) => {
  const add = await call('ADD', {});
  t.equal(add.exitCode, 0, add.stdout);
  t.equal((await call('DEL', {})).exitCode, 0);
});
