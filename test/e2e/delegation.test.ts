// IPAM delegation: exec'd when the IPAM file is another executable, in-process when it is this one;
// both must give the same answers. Also the JSON-lines log file.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Lab } from '../helpers/lab.js';
import { BIN, bin, callPlugin } from '../helpers/plugin.js';

t.test('in-process and exec delegation answer alike', async (t) => {
  const lab = await Lab.create(t);
  const host = await lab.host('h1');
  const dir = t.testdir({ copy: {} });
  // A copy is another inode, so CNI_PATH=copy makes bridge-route exec host-local.
  copyFileSync(bin('cni-suite'), join(dir, 'copy', 'host-local'));
  const conf = (subnet: string, dataDir: string) => ({
    cniVersion: '1.0.0',
    name: 'delegation',
    type: 'bridge-route',
    logFile: join(dir, 'log.jsonl'),
    logLevel: 'debug',
    ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir },
  });
  const modes = { inProcess: BIN, exec: join(dir, 'copy') };
  const answers: Record<string, unknown> = {};
  for (const [mode, path] of Object.entries(modes)) {
    const pod = await lab.container(`pod-${mode}`);
    const call = { containerId: `c-${mode}`, netns: pod.path, ifname: 'eth0', hostNetns: host.name, path };
    const bad = await callPlugin('bridge-route', conf('10.1.0.5/24', join(dir, mode)), {
      command: 'ADD',
      ...call,
    });
    t.equal(bad.exitCode, 1, `${mode}: bad IPAM config fails`);
    t.match(bad.json, { code: 7, msg: /host bits/ }, `${mode}: the IPAM error comes through`);
    answers[mode] = bad.json;
    const good = await callPlugin('bridge-route', conf('10.1.0.0/24', join(dir, mode)), {
      command: 'ADD',
      ...call,
    });
    t.match(good.json, { ips: [{ address: '10.1.0.2/24' }] }, `${mode}: first address of the range`);
    const del = await callPlugin('bridge-route', conf('10.1.0.0/24', join(dir, mode)), {
      command: 'DEL',
      ...call,
    });
    t.equal(del.exitCode, 0, `${mode}: DEL`);
  }
  t.same(answers.inProcess, answers.exec, 'same error document either way');
  const log = readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.ok(
    log.some((e) => e.plugin === 'bridge-route' && e.command === 'ADD' && /delegating ADD/.test(e.msg)),
    'log file has the delegation',
  );
  t.ok(
    log.every((e) => typeof e.time === 'string' && typeof e.level === 'string'),
    'every line is a JSON entry',
  );
});
