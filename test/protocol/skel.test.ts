// The protocol edge, through the built executable: bad input and the names it answers to. The
// verb × cniVersion matrix runs in-process against a stub (test/unit/skel-matrix.test.ts); plugins'
// own verbs are tested in their own protocol files.

import { statSync } from 'node:fs';
import { execa } from 'execa';
import t from 'tap';
import { SPEC_VERSIONS } from '../../lib/cni/versions.js';
import { PLUGIN_NAMES } from '../../lib/registry.js';
import { Lab } from '../helpers/lab.js';
import { bin, callPlugin } from '../helpers/plugin.js';

const lab = await Lab.create(t);
const host = await lab.netns('host');
const pod = await lab.container('pod');
const attachment = { containerId: 'proto1', netns: pod.path, ifname: 'eth0' };
// Every bad input below is refused by the edge before a plugin is loaded, so any plugin name
// serves; it runs inside a lab host netns, so a regression cannot touch this machine's network.
const PLUGIN = 'bridge-route';
const call = (conf: unknown, c: Parameters<typeof callPlugin>[2]) =>
  callPlugin(PLUGIN, conf, { ...c, hostNetns: host.name });

t.test('the six names are one inode', async (t) => {
  const inodes = new Set(['cni-suite', ...PLUGIN_NAMES].map((n) => statSync(bin(n)).ino));
  t.equal(inodes.size, 1);
});

t.test('VERSION lists 0.1.0 through 1.1.0 for every name, ignoring stdin', async (t) => {
  for (const name of PLUGIN_NAMES) {
    const r = await callPlugin(name, 'not json at all', { command: 'VERSION' });
    t.equal(r.exitCode, 0, name);
    t.same(r.json, { cniVersion: '1.1.0', supportedVersions: [...SPEC_VERSIONS] }, name);
  }
  const r = await execa(bin('bridge-route'), [], {
    env: { CNI_COMMAND: 'VERSION' },
    extendEnv: false,
    stdin: 'ignore',
  });
  t.equal(r.stdout, JSON.stringify({ cniVersion: '1.1.0', supportedVersions: [...SPEC_VERSIONS] }));
});

t.test('a symlink and "cni-suite <plugin>" pick the plugin too', async (t) => {
  const dir = t.testdir({});
  await execa('ln', ['-s', bin('cni-suite'), `${dir}/vxlan`]);
  const viaLink = await execa(`${dir}/vxlan`, [], {
    env: { CNI_COMMAND: 'ADD' },
    reject: false,
    input: '{}',
  });
  t.match(viaLink.stdout, /"code":4/);
  const unknown = await execa(bin('cni-suite'), [], { env: { CNI_COMMAND: 'VERSION' }, reject: false });
  t.equal(unknown.exitCode, 1);
  t.match(JSON.parse(unknown.stdout), { code: 4, msg: /cannot tell which plugin/ });
  const named = await execa(bin('cni-suite'), ['host-local'], { env: { CNI_COMMAND: 'VERSION' } });
  t.match(JSON.parse(named.stdout), { cniVersion: '1.1.0' });
});

t.test('bad input: right code, exit 1, one JSON document', async (t) => {
  const good = { cniVersion: '1.0.0', name: 'net1', type: PLUGIN };
  const cases: [string, unknown, Parameters<typeof callPlugin>[2], number, RegExp][] = [
    [
      'missing CNI_CONTAINERID',
      good,
      { command: 'ADD', ...attachment, containerId: undefined },
      4,
      /CNI_CONTAINERID/,
    ],
    ['missing CNI_COMMAND', good, { command: '' }, 4, /CNI_COMMAND/],
    ['unknown command', good, { command: 'INIT', ...attachment }, 4, /INIT/],
    ['bad JSON', '{"cniVersion":', { command: 'ADD', ...attachment }, 6, /not valid JSON/],
    ['empty stdin', '', { command: 'ADD', ...attachment }, 6, /stdin is empty/],
    [
      'no name',
      { cniVersion: '1.0.0', type: PLUGIN },
      { command: 'ADD', ...attachment },
      7,
      /name is missing/,
    ],
    ['no type', { cniVersion: '1.0.0', name: 'n' }, { command: 'ADD', ...attachment }, 7, /type is missing/],
    ['cniVersion 9.9.9', { ...good, cniVersion: '9.9.9' }, { command: 'ADD', ...attachment }, 1, /9\.9\.9/],
    [
      'CHECK at 0.3.1',
      { ...good, cniVersion: '0.3.1' },
      { command: 'CHECK', ...attachment },
      1,
      /CHECK needs cniVersion 0\.4\.0/,
    ],
    ['GC at 1.0.0', { ...good, cniVersion: '1.0.0' }, { command: 'GC' }, 1, /GC needs cniVersion 1\.1\.0/],
    ['STATUS at 1.0.0', good, { command: 'STATUS' }, 1, /STATUS needs/],
    ['bad ifname', good, { command: 'ADD', ...attachment, ifname: 'eth0/x' }, 4, /CNI_IFNAME/],
    ['bad container id', good, { command: 'DEL', ...attachment, containerId: '../x' }, 4, /CNI_CONTAINERID/],
    [
      'missing netns',
      good,
      { command: 'ADD', ...attachment, netns: '/var/run/netns/does-not-exist' },
      4,
      /does not exist/,
    ],
    [
      'own netns',
      good,
      { command: 'ADD', ...attachment, netns: '/proc/self/ns/net' },
      4,
      /own network namespace/,
    ],
    [
      // (DEL logs a bad prevResult and goes on: teardown must finish; see the e2e defects test.)
      'bad prevResult',
      { ...good, prevResult: { ips: [{ address: 'x' }] } },
      { command: 'CHECK', ...attachment },
      6,
      /prevResult\.ips\[0\]/,
    ],
  ];
  for (const [what, conf, c, code, msg] of cases) {
    const r = await call(conf, c);
    t.equal(r.exitCode, 1, `${what}: exit 1`);
    t.match(r.json, { code, msg }, what);
    t.ok(r.stdout.endsWith('}\n') || r.stdout.endsWith('}'), `${what}: nothing after the document`);
  }
});

t.test("error documents carry the caller's cniVersion when it is known", async (t) => {
  const r = await call({ cniVersion: '0.3.1', type: PLUGIN }, { command: 'ADD', ...attachment });
  t.match(r.json, { cniVersion: '0.3.1', code: 7 });
});
