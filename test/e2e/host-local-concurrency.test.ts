// host-local under load: many processes at once must never share an address, and releasing them all
// leaves exactly the reference's bookkeeping files.
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hlConf, leases, networkFiles, OURS, pool, runHl } from '../helpers/host-local.js';
import { Lab } from '../helpers/lab.js';

const lab = await Lab.create(t);
const pod = await lab.container('pod');

// The lock is the addon's flock(2) by default, util-linux `flock` where the addon cannot be loaded.
for (const [lockBy, env] of [
  ['the addon', {}],
  ['`flock` processes', { CNI_SUITE_NO_ADDON: '1' }],
] as const) {
  t.test(
    `200 ADDs at 50 in parallel, locking with ${lockBy}: 200 distinct addresses per family, then all DEL`,
    async (t) => {
      const dir = t.testdir({});
      const conf = hlConf(dir, { ranges: [[{ subnet: '10.20.0.0/16' }], [{ subnet: 'fd00:20::/64' }]] });
      const ids = Array.from({ length: 200 }, (_, i) => `conc-${i}`);
      const added = await pool(
        50,
        ids.map((id) => () => runHl(OURS, conf, { command: 'ADD', containerId: id, netns: pod.path, env })),
      );
      const failed = added.filter((r) => r.code !== 0);
      t.equal(failed.length, 0, `no failures${failed.length ? `: ${failed[0]!.stdout}` : ''}`);
      for (const fam of [0, 1]) {
        const got = added.map((r) => (r.json?.ips as { address: string }[] | undefined)?.[fam]?.address);
        t.equal(new Set(got).size, 200, `200 distinct addresses in set ${fam}`);
      }
      const onDisk = leases(dir);
      t.equal(onDisk.size, 400, '400 lease files');
      t.equal(new Set(onDisk.values()).size, 200, 'each attachment holds one lease per set');

      const deleted = await pool(
        50,
        ids.map((id) => () => runHl(OURS, conf, { command: 'DEL', containerId: id, env })),
      );
      t.equal(deleted.filter((r) => r.code !== 0).length, 0, 'every DEL succeeds');
      t.same(
        networkFiles(dir),
        ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock'],
        'only bookkeeping remains',
      );
    },
  );
}

t.test('the lock starts no `flock` process; with CNI_SUITE_NO_ADDON=1 it does', async (t) => {
  const dir = t.testdir({ bin: {} });
  const log = join(dir, 'flock-runs');
  writeFileSync(log, '');
  // A `flock` found first on PATH that logs each run, then does the real work.
  writeFileSync(join(dir, 'bin/flock'), `#!/bin/sh\necho "$*" >> ${log}\nexec /usr/bin/flock "$@"\n`);
  chmodSync(join(dir, 'bin/flock'), 0o755);
  const PATH = `${join(dir, 'bin')}:${process.env.PATH}`;
  const conf = hlConf(dir, { subnet: '10.21.0.0/24' });
  const runs = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const add = (id: string, env: Record<string, string>) =>
    runHl(OURS, conf, { command: 'ADD', containerId: id, netns: pod.path, env: { PATH, ...env } });
  t.equal((await add('native', {})).code, 0, 'ADD');
  t.same(runs(), [], 'took the lock without a flock process');
  t.equal((await add('spawned', { CNI_SUITE_NO_ADDON: '1' })).code, 0, 'ADD with CNI_SUITE_NO_ADDON=1');
  t.match(runs(), [/^-x -w 60 3$/], 'ran flock once (the control: the logging flock is the one found)');
  t.equal(leases(dir).size, 2, 'both hold a lease');
});

t.test('a lock held past 60 s: ADD answers 11 and exits at once; ADD works once it is free', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, { subnet: '10.22.0.0/24' });
  const add = (id: string) => runHl(OURS, conf, { command: 'ADD', containerId: id, netns: pod.path });
  t.equal((await add('first')).code, 0, 'ADD while nobody holds the lock (it makes the lock file)');
  // Another holder (as the reference host-local would be), for longer than a call waits; -o: the
  // lock is flock's own, not its sleep's, so killing flock frees it.
  const holder = spawn('flock', ['-x', '-o', join(dir, 'hlnet/lock'), 'sleep', '300'], {
    stdio: 'ignore',
    detached: true,
  });
  const stopHolder = () => {
    try {
      process.kill(-holder.pid!, 'SIGKILL'); // flock and its sleep
    } catch {
      // gone already
    }
  };
  t.teardown(stopHolder);
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  const waited = await add('waits');
  const seconds = (Date.now() - started) / 1000;
  t.match(waited.json, { code: 11, msg: /stayed locked for 60 s/ }, 'ADD is 11, naming the wait');
  t.ok(seconds >= 59 && seconds < 70, `and the process exited when it gave up (${seconds.toFixed(1)} s)`);
  stopHolder();
  await new Promise((r) => holder.on('close', r));
  t.equal((await add('after')).code, 0, 'ADD once the holder is gone');
  t.equal(leases(dir).size, 2, 'the refused ADD holds no lease');
});
