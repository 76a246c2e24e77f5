// The addon (as built by `npm run build`, or the one at CNI_SUITE_ADDON_PATH: scripts/addon-sanitize
// runs this file against a build with ASan and UBSan): native/digest.c, the digest lib/engine/stamp.ts
// compares to skip work (same text, same digest; any change, another); native/netns.c, sysctls
// written inside another netns (a pod's) while ours stays as it is; native/cookie.c, the netns
// cookie that is never given twice (flock.c: lock.test.ts; spawn.c: run.test.ts); arguments no caller of ours passes (too many, not numbers, sparse arrays, getters
// that throw) refused as errors, never read past an allocation.

import { once } from 'node:events';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { execa } from 'execa';
import t from 'tap';
import { type Addon, loadFile, useAddon } from '../../lib/sys/addon.js';
import { writeSysctlsIn } from '../../lib/sys/sysctl.js';

const ADDON =
  process.env.CNI_SUITE_ADDON_PATH || join(import.meta.dirname, '../../dist/native/cni-suite.node');
t.comment(`addon: ${ADDON}`);
const native = loadFile(ADDON);
const { digest } = native;
const { errno } = constants;

t.test('32 hex digits, the same for the same text', async (t) => {
  t.match(digest(''), /^[0-9a-f]{32}$/);
  t.equal(digest('table inet cni_suite {}'), digest('table inet cni_suite {}'));
});

t.test('one character changed, added or moved gives another digest', async (t) => {
  const peers = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.1 10.244.${i}.0/24`).join(
    '\n',
  );
  const seen = new Set([
    digest(peers),
    digest(`${peers}\n`),
    digest(peers.replace('10.244.999.0', '10.244.998.0')),
    digest(peers.replace('10.0.1.1', '10.0.1.2')),
    digest(peers.slice(1)),
    digest('ab'),
    digest('ba'),
    digest(''),
    digest('\0'),
  ]);
  t.equal(seen.size, 9);
});

t.test('non-ASCII text is hashed by its UTF-8 bytes', async (t) => {
  t.not(digest('é'), digest('e'));
  t.equal(digest('名前'), digest('名前'));
});

t.test('a non-string is a TypeError, not a crash', async (t) => {
  t.throws(() => (digest as (x: unknown) => string)(42), TypeError);
});

t.test('sysctls written inside another netns, not in ours; a missing key skipped', async (t) => {
  const ns = `addon-test-${process.pid}`;
  await execa('ip', ['netns', 'add', ns]);
  t.teardown(() => execa('ip', ['netns', 'del', ns]));
  useAddon(native);
  t.teardown(() => useAddon(undefined));
  const key = 'net.ipv4.conf.lo.arp_notify';
  const ours = readFileSync('/proc/sys/net/ipv4/conf/lo/arp_notify', 'utf8').trim();
  const theirs = async () =>
    (await execa('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/conf/lo/arp_notify'])).stdout;
  const other = ours === '1' ? '0' : '1';
  t.not(await theirs(), other, 'not set before');
  t.ok(
    writeSysctlsIn(`/run/netns/${ns}`, [
      [key, other],
      ['net.ipv4.conf.nosuchlink.arp_notify', '1'],
    ]),
  );
  t.equal(await theirs(), other, 'set inside the netns');
  t.equal(readFileSync('/proc/sys/net/ipv4/conf/lo/arp_notify', 'utf8').trim(), ours, 'ours unchanged');
  t.throws(
    () => writeSysctlsIn('/run/netns/no-such-netns-here', [[key, '1']]),
    /cannot enter \/run\/netns\/no-such-netns-here: ENOENT/,
  );
  t.throws(
    () => writeSysctlsIn(`/run/netns/${ns}`, [[key, 'not-a-number']]),
    /sysctl net\.ipv4\.conf\.lo\.arp_notify in .*: EINVAL/,
  );
  useAddon(undefined);
  t.notOk(
    writeSysctlsIn(`/run/netns/${ns}`, [[key, '1']]),
    'without the addon: false (the caller uses a shell)',
  );
});

t.test('writeIn: only paths under /proc/sys; too many or unreadable pairs refused', async (t) => {
  t.same(native.writeIn('/proc/self/ns/net', ['/tmp/not-a-sysctl', '1']), [errno.EINVAL, 0]);
  t.same(native.writeIn('/proc/self/ns/net', ['/proc/sys/../../tmp/x', '1']), [errno.EINVAL, 0]);
  t.same(native.writeIn('/proc/self/ns/net', sparse(2 ** 32 - 1)), [errno.E2BIG, -2], '2³²−1 entries');
  t.same(native.writeIn('/proc/self/ns/net', sparse(4097)), [errno.E2BIG, -2], 'one more than 4096');
  t.same(native.writeIn('/proc/self/ns/net', sparse(2)), [errno.EINVAL, -2], 'holes are not strings');
  t.same((native.writeIn as (...a: unknown[]) => unknown)('/proc/self/ns/net', 'ab'), [errno.EINVAL, -2]);
  t.throws(() => native.writeIn('/proc/self/ns/net', throwing()), /getter/);
});

/** An array of `length` holes: its length is all a C reader can trust. */
function sparse(length: number): string[] {
  const a: string[] = [];
  a.length = length;
  return a;
}

/** An array whose first entry throws when read. */
function throwing(): string[] {
  const a = ['x'];
  Object.defineProperty(a, 0, {
    get() {
      throw new Error('getter');
    },
  });
  return a;
}

const spawn = (argv: unknown[], opts: { env?: unknown; fds?: unknown; timeout?: unknown } = {}) =>
  (native.spawn as (...a: unknown[]) => ReturnType<Addon['spawn']>)(
    '/bin/sh',
    argv,
    opts.env ?? [],
    '',
    opts.fds ?? [],
    'timeout' in opts ? opts.timeout : 5000,
  );

t.test('spawn: a timeoutMs that is not a number is no limit, not "kill at once"', async (t) => {
  for (const timeout of [undefined, '100', null, {}, Number.NaN, -1, Number.POSITIVE_INFINITY])
    t.match(
      await spawn(['sh', '-c', 'sleep 0.2; echo done'], { timeout }),
      { status: 0, timedOut: false, stdout: Buffer.from('done\n') },
      `timeoutMs ${String(timeout)}`,
    );
  t.match(
    await spawn(['sh', '-c', 'sleep 5'], { timeout: 100 }),
    { timedOut: true },
    'a number still limits',
  );
});

t.test('spawn: arguments out of bounds are an error, never read past an allocation', async (t) => {
  t.same(await spawn(sparse(2 ** 32 - 1)), { error: errno.E2BIG }, 'argv of 2³²−1 entries');
  t.same(await spawn(['sh'], { env: sparse(2 ** 32 - 1) }), { error: errno.E2BIG }, 'env of 2³²−1 entries');
  t.same(await spawn(Array(4097).fill('x')), { error: errno.E2BIG }, 'argv of 4097 entries');
  t.match(await spawn(['sh', '-c', 'exit 7', ...Array(4093).fill('x')]), { status: 7 }, '4096 entries run');
  t.same(await spawn(sparse(3)), { error: errno.EINVAL }, 'holes are not strings');
  t.same(await spawn([]), { error: errno.EINVAL }, 'no argv[0]');
  t.same(await spawn('sh' as unknown as unknown[]), { error: errno.EINVAL }, 'not an array');
  t.same(await spawn(['sh'], { fds: Array(65).fill(0) }), { error: errno.EMFILE }, '65 fds');
  t.same(await spawn(['sh'], { fds: sparse(2 ** 32 - 1) }), { error: errno.EMFILE }, '2³²−1 fds');
  for (const fd of [Number.NaN, -1, 1.5, '3', 2 ** 31])
    t.same(await spawn(['sh'], { fds: [fd] }), { error: errno.EBADF }, `fd ${String(fd)}`);
  t.throws(() => spawn(throwing()), /getter/, 'a throwing getter throws, the call does not crash');
});

t.test('lock: a descriptor that is not a whole number is EBADF, not our stdin', async (t) => {
  for (const fd of [Number.NaN, undefined, '0', -1, 0.5])
    t.equal(await (native.lock as (fd: unknown) => Promise<number>)(fd), errno.EBADF, `fd ${String(fd)}`);
});

/** The netns cookie seen by a Node process started inside the netns `ns`, with this addon. */
async function cookieIn(ns: string): Promise<string> {
  const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(ADDON)});
    process.stdout.write(m.exports.netnsCookie());`;
  return (await execa('ip', ['netns', 'exec', ns, process.execPath, '-e', script])).stdout;
}

t.test('netnsCookie: the same in one netns, another in each other netns, never given twice', async (t) => {
  const ours = native.netnsCookie();
  t.match(ours, /^[1-9]\d*$/, 'a decimal u64 (Linux ≥ 5.14)');
  t.equal(native.netnsCookie(), ours, 'the same when asked again');
  const ns = `addon-cookie-${process.pid}`;
  const inode = () => statSync(`/run/netns/${ns}`).ino;
  t.teardown(() => execa('ip', ['netns', 'del', ns], { reject: false }));
  await execa('ip', ['netns', 'add', ns]);
  const first = await cookieIn(ns);
  const firstInode = inode();
  t.match(first, /^[1-9]\d*$/);
  t.not(first, ours, "another netns's cookie");
  t.equal(await cookieIn(ns), first, 'the same netns seen again from another process');
  // A new netns may get the inode of one that is gone (the kernel reuses the lowest free number); a
  // cookie is never reused.
  const seen = new Set([ours, first]);
  let sameInode = false;
  for (let i = 0; i < 5 && !sameInode; i++) {
    await execa('ip', ['netns', 'del', ns]);
    await execa('ip', ['netns', 'add', ns]);
    const again = await cookieIn(ns);
    t.notOk(
      seen.has(again),
      `recreated (inode ${inode()}${inode() === firstInode ? ', the same' : ''}): a new cookie`,
    );
    seen.add(again);
    sameInode = inode() === firstInode;
  }
  t.comment(sameInode ? 'the inode was reused and the cookie was not' : 'the inode was not reused this time');
});

t.test('an environment torn down while its threads wait: they answer nobody and crash nothing', async (t) => {
  // A worker's environment is torn down while a child it started runs and while it waits for a
  // lock; each thread then ends after the environment and its thread-safe functions are gone.
  const file = join(tmpdir(), `addon-test-lock-${process.pid}`);
  writeFileSync(file, '', { mode: 0o600 });
  const held = openSync(file, 'r');
  t.teardown(() => rmSync(file, { force: true }));
  t.equal(await native.lock(held), 0, 'held here');
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
    const m = { exports: {} };
    process.dlopen(m, ${JSON.stringify(ADDON)});
    m.exports.spawn('/bin/sleep', ['sleep', '0.3'], [], '', [], 5000);
    m.exports.lock(require('node:fs').openSync(${JSON.stringify(file)}, 'r'));
    parentPort.postMessage('waiting');`,
    { eval: true },
  );
  await once(worker, 'message');
  await worker.terminate();
  closeSync(held); // the worker's lock request is granted now, to an environment that is gone
  await sleep(600); // and the child has exited
  t.match(await spawn(['sh', '-c', 'echo alive']), { status: 0 }, 'this process goes on');
});
