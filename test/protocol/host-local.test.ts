// host-local through the built executable: every verb at every cniVersion, the on-disk format,
// errors with their codes. Each test gets its own data dir.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SPEC_VERSIONS } from '../../lib/cni/versions.js';
import { addresses, firstAddress, hlConf, leases, networkFiles, OURS, runHl } from '../helpers/host-local.js';
import { Lab } from '../helpers/lab.js';

const lab = await Lab.create(t);
const pod = await lab.container('pod');
const netns = pod.path;
const dual = { ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00:1::/64' }]] };
const v4 = { ranges: [[{ subnet: '10.1.0.0/24' }]] };

const add = (conf: unknown, containerId: string, extra: { args?: string; ifname?: string } = {}) =>
  runHl(OURS, conf, { command: 'ADD', containerId, netns, ...extra });
const del = (conf: unknown, containerId: string, ifname = 'eth0') =>
  runHl(OURS, conf, { command: 'DEL', containerId, ifname });

t.test('ADD, DEL, DEL at every cniVersion: result shape and reference-format files', async (t) => {
  for (const cniVersion of SPEC_VERSIONS) {
    const dir = t.testdir({});
    const legacy = cniVersion === '0.1.0' || cniVersion === '0.2.0';
    const conf = hlConf(dir, { ...dual, routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] }, { cniVersion });
    const r = await add(conf, 'ctr1');
    t.equal(r.code, 0, `${cniVersion}: ADD succeeds`);
    if (legacy) {
      t.same(
        r.json,
        {
          cniVersion,
          ip4: { ip: '10.1.0.2/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] },
          ip6: { ip: 'fd00:1::2/64', gateway: 'fd00:1::1', routes: [{ dst: '::/0' }] },
          dns: {},
        },
        `${cniVersion}: ip4/ip6 result`,
      );
    } else {
      const versioned = !cniVersion.startsWith('1.');
      t.same(
        r.json,
        {
          cniVersion,
          ips: [
            { ...(versioned ? { version: '4' } : {}), address: '10.1.0.2/24', gateway: '10.1.0.1' },
            { ...(versioned ? { version: '6' } : {}), address: 'fd00:1::2/64', gateway: 'fd00:1::1' },
          ],
          routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
          dns: {},
        },
        `${cniVersion}: ips result without interfaces`,
      );
    }
    t.same(networkFiles(dir), ['10.1.0.2', 'fd00:1::2', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    t.equal(readFileSync(join(dir, 'hlnet/10.1.0.2'), 'latin1'), 'ctr1\r\neth0', 'lease content, no newline');
    t.equal(readFileSync(join(dir, 'hlnet/last_reserved_ip.1'), 'latin1'), 'fd00:1::2');
    for (const n of [1, 2]) t.equal((await del(conf, 'ctr1')).code, 0, `${cniVersion}: DEL #${n} succeeds`);
    t.same(networkFiles(dir), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  }
});

t.test('allocation: round-robin, never network/broadcast/gateway, clear exhaustion', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, { ranges: [[{ subnet: '10.2.0.0/29', gateway: '10.2.0.3' }]] });
  const got: (string | undefined)[] = [];
  for (const id of ['a', 'b', 'c', 'd', 'e']) got.push(firstAddress((await add(conf, id)).json));
  t.same(got, ['10.2.0.1', '10.2.0.2', '10.2.0.4', '10.2.0.5', '10.2.0.6']);
  const full = await add(conf, 'f');
  t.match(full.json, {
    code: 101,
    msg: /no free address left in ipam\.ranges\[0\] \(10\.2\.0\.1-10\.2\.0\.6\)/,
  });
  await del(conf, 'b');
  t.equal(firstAddress((await add(conf, 'g')).json), '10.2.0.2', 'the freed address is found after wrapping');
  await del(conf, 'a');
  await del(conf, 'c');
  t.equal(firstAddress((await add(conf, 'h')).json), '10.2.0.4', 'round-robin continues after the last one');
});

t.test('an exhausted second set releases the first set address (all or nothing)', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, { ranges: [[{ subnet: '10.3.0.0/24' }], [{ subnet: 'fd00:3::/126' }]] });
  t.equal((await add(conf, 'a')).code, 0);
  t.equal((await add(conf, 'b')).code, 0);
  const r = await add(conf, 'c');
  t.match(r.json, { code: 101, msg: /ipam\.ranges\[1\]/ });
  t.same([...leases(dir).values()].sort(), ['a\r\neth0', 'a\r\neth0', 'b\r\neth0', 'b\r\neth0']);
});

t.test('requested addresses: CNI_ARGS IP, args.cni.ips, runtimeConfig.ips', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, dual);
  const viaEnv = await add(conf, 'a', { args: 'IP=10.1.0.50' });
  t.equal(firstAddress(viaEnv.json), '10.1.0.50');
  t.equal(addresses(viaEnv.json)[1], 'fd00:1::2/64', 'other sets allocate');
  const viaArgs = await add({ ...conf, args: { cni: { ips: ['10.1.0.51'] } } }, 'b', {
    args: 'IP=10.1.0.60',
  });
  t.equal(firstAddress(viaArgs.json), '10.1.0.51', 'args.cni wins over CNI_ARGS');
  const viaRuntime = await add(
    {
      ...conf,
      runtimeConfig: { ips: ['10.1.0.52/24', 'fd00:1::52'] },
      args: { cni: { ips: ['10.1.0.61'] } },
    },
    'c',
  );
  t.same(addresses(viaRuntime.json), ['10.1.0.52/24', 'fd00:1::52/64'], 'runtimeConfig wins');
  const taken = await add(conf, 'd', { args: 'IP=10.1.0.50' });
  t.match(taken.json, { code: 102, msg: /10\.1\.0\.50 is already leased to container a interface eth0/ });
  const gw = await add(conf, 'e', { args: 'IP=10.1.0.1' });
  t.match(gw.json, { code: 7, msg: /CNI_ARGS IP "10\.1\.0\.1" is the gateway of ipam\.ranges\[0\]\[0\]/ });
  const outside = await add(conf, 'e', { args: 'IP=10.9.0.1' });
  t.match(outside.json, { code: 7, msg: /is outside every range/ });
  const unknown = await add(conf, 'e', { args: 'FOO=1' });
  t.match(unknown.json, { code: 4, msg: /FOO/ });
});

t.test('a second ADD of one attachment is refused; another ifname gets its own address', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, v4);
  t.equal((await add(conf, 'a')).code, 0);
  t.match((await add(conf, 'a')).json, { code: 102, msg: /already holds 10\.1\.0\.2/ });
  t.equal(firstAddress((await add(conf, 'a', { ifname: 'net1' })).json), '10.1.0.3');
  t.equal((await del(conf, 'a', 'net1')).code, 0);
  t.same([...leases(dir)], [['10.1.0.2', 'a\r\neth0']], 'DEL releases by (containerID, ifname)');
});

t.test('CHECK: the lease exists and holds the prevResult addresses', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, dual, { cniVersion: '0.4.0' });
  const r = await add(conf, 'a');
  const check = (prevResult: unknown, id = 'a') =>
    runHl(OURS, { ...conf, prevResult }, { command: 'CHECK', containerId: id, netns });
  t.equal((await check(r.json)).code, 0);
  const other = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.9/24' }] };
  t.match((await check(other)).json, { code: 103, msg: /10\.1\.0\.9\/24 is not leased to container a/ });
  const foreign = { cniVersion: '0.4.0', ips: [{ version: '4', address: '192.168.5.5/24' }] };
  t.equal((await check(foreign)).code, 0, 'addresses outside our ranges are not ours to judge');
  t.match((await check(r.json, 'zz')).json, { code: 103, msg: /holds no lease/ });
  await del(conf, 'a');
  t.match((await check(r.json)).json, { code: 103 });
});

t.test('GC keeps the valid attachments and never touches lock or last_reserved files', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, dual);
  for (const id of ['a', 'b', 'c']) await add(conf, id);
  writeFileSync(join(dir, 'hlnet/10.1.0.77'), 'legacy-keep');
  writeFileSync(join(dir, 'hlnet/10.1.0.78'), 'legacy-drop');
  writeFileSync(join(dir, 'hlnet/10.1.0.79'), '');
  writeFileSync(join(dir, 'hlnet/notes.txt'), 'x');
  const valid = [
    { containerID: 'b', ifname: 'eth0' },
    { containerID: 'legacy-keep', ifname: 'eth0' },
  ];
  const gc = await runHl(OURS, { ...conf, 'cni.dev/valid-attachments': valid }, { command: 'GC' });
  t.equal(gc.code, 0, gc.stdout);
  t.same(networkFiles(dir), [
    '10.1.0.3',
    '10.1.0.77',
    'fd00:1::3',
    'last_reserved_ip.0',
    'last_reserved_ip.1',
    'lock',
    'notes.txt',
  ]);
  t.equal((await del(conf, 'legacy-keep')).code, 0);
  t.notOk(networkFiles(dir).includes('10.1.0.77'), 'DEL releases a legacy lease by container ID');
  const noList = await runHl(OURS, conf, { command: 'GC' });
  t.match(noList.json, { code: 7, msg: /valid-attachments/ });
});

t.test('STATUS: 50 when a range set is exhausted or the data dir is unusable', async (t) => {
  const dir = t.testdir({ file: 'not a dir' });
  const conf = hlConf(dir, { ranges: [[{ subnet: '10.4.0.0/30' }]] });
  const status = (c: unknown) => runHl(OURS, c, { command: 'STATUS' });
  t.equal((await status(conf)).code, 0);
  await add(conf, 'a');
  t.match((await status(conf)).json, {
    code: 50,
    msg: /ipam\.ranges\[0\] \(10\.4\.0\.1-10\.4\.0\.2\) has no free/,
  });
  await del(conf, 'a');
  t.equal((await status(conf)).code, 0);
  const broken = hlConf(join(dir, 'file/sub'), v4);
  t.match((await status(broken)).json, { code: 50, msg: /unusable/ });
  const file = hlConf(join(dir, 'file'), v4);
  t.match((await status(file)).json, {
    code: 7,
    msg: /ipam\.dataDir ".*file" exists and is not a directory/,
  });
  const old = await status({ ...conf, cniVersion: '1.0.0' });
  t.match(old.json, { code: 1 });
});

t.test('resolvConf becomes the result dns', async (t) => {
  const dir = t.testdir({
    'resolv.conf':
      '# c\nnameserver 10.0.0.53\nnameserver fd00::53\ndomain example.org\nsearch a.example b.example\noptions ndots:2 timeout:1\n',
  });
  const r = await add(hlConf(dir, { ...v4, resolvConf: join(dir, 'resolv.conf') }), 'a');
  t.same(r.json?.dns, {
    nameservers: ['10.0.0.53', 'fd00::53'],
    domain: 'example.org',
    search: ['a.example', 'b.example'],
    options: ['ndots:2', 'timeout:1'],
  });
  const missing = await add(hlConf(dir, { ...v4, resolvConf: join(dir, 'nope') }), 'b');
  t.match(missing.json, { code: 7, msg: /ipam\.resolvConf ".*nope" cannot be read \(ENOENT\)/ });
});

t.test('bad configs answer code 7 naming the field', async (t) => {
  const dir = t.testdir({});
  const cases: [unknown, RegExp][] = [
    [
      hlConf(dir, { ranges: [[{ subnet: '10.1.0.5/24' }]] }),
      /ipam\.ranges\[0\]\[0\]\.subnet "10\.1\.0\.5\/24" has host bits set; use "10\.1\.0\.0\/24"/,
    ],
    [hlConf(dir, { ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: 'fd00::/64' }]] }), /mixes IPv4 and IPv6/],
    [hlConf(dir, { ranges: [[{ subnet: 5 }]] }), /ipam\.ranges\[0\]\[0\]\.subnet must be string/],
    [{ cniVersion: '1.0.0', name: 'hlnet', type: 'host-local' }, /ipam is required/],
  ];
  for (const [conf, msg] of cases) {
    const r = await add(conf, 'a');
    t.equal(r.code, 1);
    t.match(r.json, { code: 7, msg });
  }
  t.same(networkFiles(dir), [], 'nothing was written');
  const delBroken = await del(hlConf(dir, { ranges: [[{ subnet: '10.1.0.5/24' }]] }), 'a');
  t.equal(delBroken.code, 0, 'DEL needs no valid ranges');
});

t.test('the index is only a hint: a lease changed behind its back is still found', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, v4);
  await add(conf, 'a');
  // Someone (an admin, another tool) moves the lease without telling us.
  writeFileSync(join(dir, 'hlnet/10.1.0.2'), 'b\r\neth0');
  mkdirSync(join(dir, 'hlnet'), { recursive: true });
  writeFileSync(join(dir, 'hlnet/last_reserved_ip.0'), '10.1.0.2');
  t.equal((await del(conf, 'a')).code, 0);
  t.same([...leases(dir)], [['10.1.0.2', 'b\r\neth0']], "a's DEL does not remove b's lease");
  t.equal((await del(conf, 'b')).code, 0);
  t.same([...leases(dir)], [], "b's DEL finds it after the index is rebuilt");
});

t.test('every verb × every cniVersion: served, or code 1 below the verb’s version', async (t) => {
  const minimum = { ADD: '0.1.0', DEL: '0.1.0', CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' } as const;
  for (const cniVersion of SPEC_VERSIONS) {
    const dir = t.testdir({});
    const conf = { ...hlConf(dir, v4, { cniVersion }), 'cni.dev/valid-attachments': [] };
    const added = await add(conf, 'm');
    for (const command of ['CHECK', 'GC', 'STATUS', 'DEL'] as const) {
      const allowed = SPEC_VERSIONS.indexOf(cniVersion) >= SPEC_VERSIONS.indexOf(minimum[command]);
      const r = await runHl(
        OURS,
        { ...conf, prevResult: added.json },
        { command, containerId: 'm', netns: command === 'CHECK' ? netns : undefined },
      );
      if (allowed) t.equal(r.code, 0, `${command} at ${cniVersion}: ${r.stdout}`);
      else t.match(r.json, { cniVersion, code: 1 }, `${command} at ${cniVersion} needs ${minimum[command]}`);
    }
  }
});

t.test('a lease added behind our back without a last_reserved write is still released', async (t) => {
  // What a reference ADD killed between writing the lease and last_reserved_ip leaves behind.
  const dir = t.testdir({});
  const conf = hlConf(dir, v4);
  await add(conf, 'a');
  writeFileSync(join(dir, 'hlnet/10.1.0.200'), 'ghost\r\neth0');
  t.equal((await del(conf, 'ghost')).code, 0);
  t.same([...leases(dir)], [['10.1.0.2', 'a\r\neth0']]);
  t.match((await add(conf, 'a')).json, { code: 102 }, 'and the index still knows a');
});

t.test(
  'a dataDir that cannot hold leases: 7 naming ipam.dataDir on ADD, nothing on the host, DEL and GC succeed',
  async (t) => {
    const dir = t.testdir({ file: 'not a dir' });
    const cases: [string, RegExp][] = [
      ['/proc/self', /under \/proc, a kernel filesystem/],
      ['/proc', /under \/proc/],
      ['/sys/kernel', /under \/sys/],
      ['/dev/null', /exists and is not a directory/],
      ['/dev/shm/hl-test', /under \/dev/],
      ['/', /is the root of the filesystem/],
      ['/./', /is the root of the filesystem/],
      [join(dir, 'file'), /exists and is not a directory/],
      [`/tmp/${'d'.repeat(1100)}`, /is longer than 1024 bytes/],
    ];
    for (const [dataDir, why] of cases) {
      const conf = hlConf(dataDir, v4);
      const started = Date.now();
      const r = await add(conf, 'c1');
      t.match(r.json, { code: 7, msg: /^ipam\.dataDir "/ }, `${dataDir.slice(0, 30)}: ADD is 7`);
      t.match(r.json?.msg, why);
      t.ok(Date.now() - started < 5000, 'answered within 5 s (a /proc data dir used to spin forever)');
      t.equal((await del(conf, 'c1')).code, 0, 'DEL succeeds: no lease can be there');
      const gc = await runHl(OURS, { ...conf, 'cni.dev/valid-attachments': [] }, { command: 'GC' });
      t.equal(gc.code, 0, 'GC succeeds too');
    }
    t.notOk(existsSync('/hlnet'), 'nothing was created at the root');
    t.notOk(existsSync('/dev/shm/hl-test'), 'nor under /dev');
    // The positive control: a usable data dir takes the lease.
    const ok = hlConf(join(dir, 'ipam'), v4);
    t.equal((await add(ok, 'c1')).code, 0, 'a usable data dir works');
    t.equal((await del(ok, 'c1')).code, 0);
  },
);

t.test('DEL, CHECK and GC of a network that never leased create nothing', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(join(dir, 'never'), v4);
  t.equal((await del(conf, 'c1')).code, 0, 'DEL succeeds');
  const check = await runHl(
    OURS,
    { ...conf, prevResult: { cniVersion: '1.1.0', ips: [] } },
    { command: 'CHECK', containerId: 'c1', netns },
  );
  t.match(check.json, { code: 103, msg: /holds no lease/ }, 'CHECK says it holds no lease');
  const gc = await runHl(OURS, { ...conf, 'cni.dev/valid-attachments': [] }, { command: 'GC' });
  t.equal(gc.code, 0, 'GC succeeds');
  t.notOk(existsSync(join(dir, 'never')), 'the data dir was not created');
});
