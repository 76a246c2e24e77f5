// Input that used to hang a plugin or make it recurse: each answers at once, with the right code.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { ip, Lab } from '../helpers/lab.js';
import { bin, callPlugin } from '../helpers/plugin.js';

const lab = await Lab.create(t);
const host = await lab.netns('host');
const pod = await lab.container('pod');
const dir = t.testdir({ 'resolv.conf': 'nameserver 10.96.0.10\n' });
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
const dataDir = join(dir, 'ipam');
const conf = (extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'hard',
  type: 'bridge-route',
  ipam: { type: 'host-local', subnet: '10.77.0.0/24', dataDir, ...ipam },
  ...extra,
});
const call = (command: string, c: unknown, netns = pod.path, id = 'h1') =>
  callPlugin('bridge-route', c, { command, containerId: id, netns, ifname: 'eth0', hostNetns: host.name });
/** Calls and measures: an answer within 10 s (a hang would be the 30 s child timeout or worse). */
async function answers(what: string, run: () => ReturnType<typeof call>) {
  const started = Date.now();
  const r = await run();
  t.ok(Date.now() - started < 10_000, `${what}: answered in ${Date.now() - started} ms`);
  return r;
}

t.test('ipam.type naming a network plugin is code 7, not a recursion', async (t) => {
  const r = await answers('ipam.type bridge-route', () => call('ADD', conf({}, { type: 'bridge-route' })));
  t.match(r.json, { code: 7, msg: /"bridge-route" is a network plugin, not an IPAM plugin/ });
  const deep = await answers('a deep chain', () =>
    callPlugin('bridge-route', conf(), {
      command: 'ADD',
      containerId: 'h1',
      netns: pod.path,
      ifname: 'eth0',
      hostNetns: host.name,
      env: { CNI_SUITE_DELEGATION_DEPTH: '4' },
    }),
  );
  t.match(deep.json, { code: 7, msg: /delegation is 4 plugins deep/ });
});

t.test('a FIFO as CNI_NETNS: ADD is code 4, DEL succeeds', async (t) => {
  const add = await answers('ADD', () => call('ADD', conf(), fifo));
  t.match(add.json, { code: 4, msg: /is not a namespace/ });
  const del = await answers('DEL', () => call('DEL', conf(), fifo));
  t.equal(del.exitCode, 0, `DEL ${del.stdout}`);
});

t.test('FIFOs and /dev/zero as files to read: code 7; as logFile: ignored with a warning', async (t) => {
  for (const [what, c] of [
    ['peersFile FIFO', conf({ peersFile: fifo })],
    ['peersFile /dev/zero', conf({ peersFile: '/dev/zero' })],
    ['resolvConf FIFO', conf({}, { resolvConf: fifo })],
    ['resolvConf /dev/zero', conf({}, { resolvConf: '/dev/zero' })],
  ] as const) {
    const r = await answers(what, () => call('ADD', c));
    t.match(r.json, { code: 7, msg: /cannot be read/ }, what);
  }
  const ok = await answers('positive control', () =>
    call('ADD', conf({}, { resolvConf: join(dir, 'resolv.conf') })),
  );
  t.match(ok.json, { dns: { nameservers: ['10.96.0.10'] } }, 'a regular resolv.conf is read');
  const logged = await answers('logFile FIFO', () => call('DEL', conf({ logFile: fifo, logLevel: 'debug' })));
  t.equal(logged.exitCode, 0, 'DEL with a FIFO as logFile');
  t.match(logged.stderr, /cannot write log file/);
});

t.test('a symlink as logFile is not followed: its target stays untouched, the call succeeds', async (t) => {
  const d = t.testdir({ 'target.txt': 'precious\n' });
  const link = join(d, 'log.link');
  symlinkSync(join(d, 'target.txt'), link);
  const r = await call('ADD', conf({ logFile: link, logLevel: 'debug' }), pod.path, 'symlog');
  t.equal(r.exitCode, 0, `ADD succeeds: ${r.stdout}`);
  t.equal(readFileSync(join(d, 'target.txt'), 'utf8'), 'precious\n', 'the symlink target was not written');
  t.match(r.stderr, /log\.link/, 'the refusal is reported on stderr');
  // The positive control: a plain logFile is written.
  const plain = join(d, 'plain.log');
  await call('DEL', conf({ logFile: plain, logLevel: 'debug' }), pod.path, 'symlog');
  t.match(readFileSync(plain, 'utf8'), /"DEL"|DEL/, 'a regular logFile gets the entries');
});

t.test(
  'relative CNI_PATH entries are ignored: a plugin planted in the working directory never runs',
  async (t) => {
    const d = t.testdir({});
    const marker = join(d, 'ran');
    mkdirSync(join(d, 'x'));
    const planted = join(d, 'x/evil-ipam');
    writeFileSync(planted, `#!/bin/sh\ntouch ${marker}\necho '{"cniVersion":"1.0.0","ips":[]}'\n`, {
      mode: 0o755,
    });
    const run = (path: string) =>
      execa('ip', ['netns', 'exec', host.name, bin('bridge-route')], {
        cwd: d,
        input: JSON.stringify(conf({}, { type: 'evil-ipam' })),
        env: {
          PATH: process.env.PATH ?? '',
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'evil',
          CNI_NETNS: pod.path,
          CNI_IFNAME: 'eth9',
          CNI_PATH: path,
        },
        extendEnv: false,
        reject: false,
      });
    const relative = await run('x');
    t.equal(relative.exitCode, 1, 'ADD fails: no IPAM plugin found');
    t.match(relative.stdout, /evil-ipam/, 'naming the IPAM plugin');
    t.match(relative.stderr, /CNI_PATH: relative entries ignored: x/, 'and saying why');
    t.notOk(existsSync(marker), 'the planted plugin did not run');
    const absolute = await run(join(d, 'x'));
    t.ok(existsSync(marker), 'the control: the same plugin in an absolute CNI_PATH entry runs');
    t.not(absolute.exitCode, 0, '(and its empty answer fails the ADD, which undoes itself)');
  },
);

t.test(
  '"%" in a device name is refused: the kernel would number it (br%d → br0) and every retry leak one',
  async (t) => {
    const links = () => execFileSync('ip', ['-n', host.name, '-o', 'link', 'show'], { encoding: 'utf8' });
    const before = links();
    const bridge = await call('ADD', conf({ bridge: 'br%d' }), pod.path, 'pct');
    t.match(bridge.json, { code: 7, msg: /^bridge must match/ }, 'bridge "br%d" is 7 naming bridge');
    const ifname = await callPlugin('bridge-route', conf(), {
      command: 'ADD',
      containerId: 'pct',
      netns: pod.path,
      ifname: 'eth%d',
      hostNetns: host.name,
    });
    t.match(ifname.json, { code: 4, msg: /CNI_IFNAME "eth%d" contains "%"/ }, 'CNI_IFNAME "eth%d" is 4');
    t.equal(links(), before, 'no link was created on the host');
    // The positive control: the same call with a plain bridge name succeeds (and is undone).
    const plain = await call('ADD', conf({ bridge: 'brpct' }), pod.path, 'pct');
    t.equal(plain.exitCode, 0, `bridge "brpct" works: ${plain.stdout}`);
    t.equal((await call('DEL', conf({ bridge: 'brpct' }), pod.path, 'pct')).exitCode, 0);
  },
);

t.test('DEL and GC without `ip` on PATH succeed, saying what they could not do; STATUS is 50', async (t) => {
  const bare = { PATH: '/nonexistent' };
  const delWithoutIp = (id: string) =>
    callPlugin('bridge-route', conf(), {
      command: 'DEL',
      containerId: id,
      netns: pod.path,
      ifname: 'eth0',
      hostNetns: host.name,
      env: bare,
    });
  // An attachment with no link in the host: /proc/self/net/dev says so, no `ip` is needed.
  const none = await delWithoutIp('noip');
  t.equal(none.exitCode, 0, `DEL of an attachment with no link succeeds: ${none.stdout}`);
  t.notMatch(none.stderr, /not found/, 'without needing ip');
  const added = await call('ADD', conf(), pod.path, 'noip');
  t.equal(added.exitCode, 0, `ADD (with ip) ${added.stdout}`);
  const del = await delWithoutIp('noip');
  t.equal(del.exitCode, 0, `DEL succeeds: ${del.stdout}`);
  t.match(del.stderr, /ip: not found.*links were left as they are/, 'and says what it could not do');
  const attachmentLink = /cni-suite\/[^/]+\/noip/;
  t.match(await ip(['link', 'show'], host.name), attachmentLink, 'its link is still there');
  const status = await callPlugin(
    'bridge-route',
    { ...conf(), cniVersion: '1.1.0' },
    {
      command: 'STATUS',
      hostNetns: host.name,
      env: bare,
    },
  );
  t.match(status.json, { code: 50, msg: /^ip \(iproute2\) is not installed/ });
  const gc = await callPlugin(
    'bridge-route',
    { ...conf(), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] },
    { command: 'GC', hostNetns: host.name, env: bare },
  );
  t.equal(gc.exitCode, 0, `GC succeeds too: ${gc.stdout}`);
  t.match(gc.stderr, /GC: ip: not found.*skipped/, 'saying what it skipped');
  // The control: with PATH, the same DEL runs `ip` and deletes the link.
  const withIp = await call('DEL', conf(), pod.path, 'noip');
  t.equal(withIp.exitCode, 0);
  t.notMatch(withIp.stderr, /not found/);
  t.notMatch(await ip(['link', 'show'], host.name), attachmentLink, 'its link is gone');
  // The bridge that ADD made goes too: the next test compares the host's links before and after.
  await ip(['link', 'del', 'cni0'], host.name);
});

t.test(
  'names the kernel reserves ("all", "default") are refused, naming the field; keywords work',
  async (t) => {
    const links = async () => (await execa('ip', ['-n', host.name, '-br', 'link'])).stdout;
    const before = await links();
    for (const name of ['all', 'default']) {
      const bridge = await call('ADD', conf({ bridge: name }));
      t.match(bridge.json, { code: 7, msg: /^bridge must match pattern/ }, `bridge "${name}" is 7`);
      const ifname = await callPlugin('bridge-route', conf(), {
        command: 'ADD',
        containerId: 'h1',
        netns: pod.path,
        ifname: name,
        hostNetns: host.name,
      });
      t.match(
        ifname.json,
        { code: 4, msg: `CNI_IFNAME "${name}" is a name the kernel reserves` },
        `ifname "${name}" is 4`,
      );
    }
    t.equal(await links(), before, 'no link was made');
    // iproute2 keywords are fine as names: we always write them after `name`/`dev`.
    const up = await call('ADD', conf({ bridge: 'up' }), pod.path, 'kw1');
    t.match(up.json, { interfaces: [{ name: 'up' }] }, 'a bridge called "up" works');
    t.equal((await call('DEL', conf({ bridge: 'up' }), pod.path, 'kw1')).exitCode, 0);
  },
);
