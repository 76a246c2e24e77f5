// Env, CNI_ARGS, config decoding and version negotiation: table-driven, no processes.
import t from 'tap';
import { parseCniArgs, pickArg } from '../../lib/cni/args.js';
import {
  decodeStdin,
  parseNetConf,
  parseVersion,
  requireVerbSupport,
  validAttachments,
} from '../../lib/cni/config.js';
import { parseCommand, parseInvocation } from '../../lib/cni/env.js';
import type { CniError } from '../../lib/cni/errors.js';
import { compareVersions } from '../../lib/cni/versions.js';

const code = (fn: () => unknown): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as CniError).code;
  }
};

const full = {
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

t.test('required env per verb (code 4)', async (t) => {
  const table: [string, Record<string, string>, number | undefined][] = [
    ['ADD', full, undefined],
    ['ADD', { ...full, CNI_CONTAINERID: '' }, 4],
    ['ADD', { ...full, CNI_NETNS: '' }, 4],
    ['CHECK', { ...full, CNI_IFNAME: '' }, 4],
    ['DEL', { ...full, CNI_NETNS: '' }, undefined],
    ['DEL', { CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_PATH: '/p' }, undefined],
    ['DEL', { CNI_IFNAME: 'eth0', CNI_PATH: '/p' }, 4],
    ['GC', { CNI_PATH: '/p' }, undefined],
    ['STATUS', {}, 4],
    ['VERSION', {}, undefined],
  ];
  for (const [cmd, env, want] of table) {
    t.equal(
      code(() => parseInvocation(parseCommand({ ...env, CNI_COMMAND: cmd }), env)),
      want,
      `${cmd} ${JSON.stringify(env)}`,
    );
  }
  t.equal(
    code(() => parseCommand({})),
    4,
  );
  t.equal(
    code(() => parseCommand({ CNI_COMMAND: 'FROB' })),
    4,
  );
});

t.test('container ID, ifname and network name are validated', async (t) => {
  const bad: [string, string][] = [
    ['CNI_CONTAINERID', '../etc'],
    ['CNI_CONTAINERID', '-x'],
    ['CNI_IFNAME', 'a-very-long-name0'],
    ['CNI_IFNAME', 'eth/0'],
    ['CNI_IFNAME', 'eth:0'],
    ['CNI_IFNAME', 'eth 0'],
    ['CNI_IFNAME', '..'],
    ['CNI_NETNS', 'relative/path'],
  ];
  for (const [k, v] of bad)
    t.equal(
      code(() => parseInvocation('ADD', { ...full, [k]: v })),
      4,
      `${k}=${v}`,
    );
  t.equal(
    code(() => parseInvocation('ADD', { ...full, CNI_IFNAME: 'net1.100_a-b' })),
    undefined,
  );
  const raw = { cniVersion: '1.0.0', name: 'bad/name', type: 'x' };
  t.equal(
    code(() => parseNetConf(raw, '1.0.0', '')),
    7,
  );
});

t.test('decoding and version negotiation', async (t) => {
  t.equal(
    code(() => decodeStdin('{nope')),
    6,
  );
  t.equal(
    code(() => decodeStdin('')),
    6,
  );
  t.equal(
    code(() => decodeStdin('[1]')),
    6,
  );
  t.equal(parseVersion({}), '0.1.0');
  t.equal(
    code(() => parseVersion({ cniVersion: '9.9.9' })),
    1,
  );
  t.equal(
    code(() => parseVersion({ cniVersion: 1 })),
    1,
  );
  t.equal(
    code(() => requireVerbSupport('CHECK', '0.3.1')),
    1,
  );
  t.equal(
    code(() => requireVerbSupport('CHECK', '0.4.0')),
    undefined,
  );
  t.equal(
    code(() => requireVerbSupport('GC', '1.0.0')),
    1,
  );
  t.equal(
    code(() => requireVerbSupport('STATUS', '1.0.0')),
    1,
  );
  t.equal(
    code(() => requireVerbSupport('GC', '1.1.0')),
    undefined,
  );
  t.equal(
    code(() => requireVerbSupport('ADD', '0.1.0')),
    undefined,
  );
  t.ok(compareVersions('0.10.0', '0.4.0') > 0);
});

t.test('config: name, type, ipam, args, runtimeConfig, prevResult', async (t) => {
  t.equal(
    code(() => parseNetConf({ type: 'x' }, '1.0.0', '')),
    7,
  );
  t.equal(
    code(() => parseNetConf({ name: 'n' }, '1.0.0', '')),
    7,
  );
  t.equal(
    code(() => parseNetConf({ name: 'n', type: 'x', ipam: 'host-local' }, '1.0.0', '')),
    7,
  );
  t.equal(
    code(() => parseNetConf({ name: 'n', type: 'x', prevResult: { ips: 3 } }, '1.0.0', '')),
    6,
  );
  const conf = parseNetConf(
    {
      name: 'n',
      type: 'x',
      ipam: { type: 'host-local' },
      args: { cni: { ips: ['10.0.0.9'] } },
      runtimeConfig: { ips: ['10.0.0.8/24'] },
      prevResult: { ip4: { ip: '10.0.0.8/24' } },
    },
    '0.2.0',
    'raw',
  );
  t.equal(conf.ipamType, 'host-local');
  t.same(conf.prevResult?.ips, [{ address: '10.0.0.8/24' }]);
  t.equal(conf.stdin, 'raw');
});

t.test('CNI_ARGS parsing and precedence', async (t) => {
  t.same(parseCniArgs('IP=10.0.0.5;K8S_POD_NAME=p', ['IP']), { IP: '10.0.0.5', K8S_POD_NAME: 'p' });
  t.same(parseCniArgs('', []), {});
  t.equal(
    code(() => parseCniArgs('FOO=1', ['IP'])),
    4,
  );
  t.same(parseCniArgs('IgnoreUnknown=1;FOO=1', ['IP']), { IgnoreUnknown: '1', FOO: '1' });
  t.same(parseCniArgs('IgnoreUnknown=true;FOO=1', []).FOO, '1');
  t.equal(
    code(() => parseCniArgs('IgnoreUnknown=0;FOO=1', [])),
    4,
  );
  t.equal(
    code(() => parseCniArgs('novalue', [])),
    4,
  );
  t.equal(pickArg({ cniArgs: 'a', argsCni: 'b', runtimeConfig: 'c' }), 'c');
  t.equal(pickArg({ cniArgs: 'a', argsCni: 'b' }), 'b');
  t.equal(pickArg({ cniArgs: 'a' }), 'a');
});

t.test('GC valid attachments under both keys', async (t) => {
  const list = [{ containerID: 'c1', ifname: 'eth0' }];
  t.same(validAttachments({ 'cni.dev/valid-attachments': list }), list);
  t.same(validAttachments({ 'cni.dev/attachments': list }), list);
  t.same(validAttachments({ 'cni.dev/valid-attachments': [] }), []);
  t.equal(
    code(() => validAttachments({})),
    7,
  );
  t.equal(
    code(() => validAttachments({ 'cni.dev/valid-attachments': [{ containerID: 1 }] })),
    7,
  );
});
