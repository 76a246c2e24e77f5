// lib/sys/lock: a named lock is a flock on a file in a root-only directory, taken through the addon
// (native/flock.c, as built by `npm run build`) or through util-linux flock without it; either way
// one holder at a time, in this process or another, free again once released, held by the children
// that inherited it, and out of reach of an unprivileged process.
import { chmodSync, lstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { loadFile, useAddon } from '../../lib/sys/addon.js';
import { holdLock, LOCK_DIR, lockFile, tryLock } from '../../lib/sys/lock.js';
import { run } from '../../lib/sys/run.js';

const ADDON = join(import.meta.dirname, '../../dist/native/cni-suite.node');

/** Whether `flock -n` in another process can take the lock file now (0: free, 1: held). */
const freeElsewhere = async (file: string) =>
  (await execa('flock', ['-n', file, 'true'], { reject: false })).exitCode === 0;

for (const [name, use] of [
  ['the addon', () => useAddon(loadFile(ADDON))],
  ['util-linux flock', () => useAddon(undefined)],
] as const) {
  t.test(name, async (t) => {
    t.before(use);
    t.teardown(() => useAddon(undefined));
    const lock = `lock-test-${process.pid}-${name.replace(/\W/g, '')}`;

    t.test('one holder at a time; free again once released', async (t) => {
      const first = await tryLock(lock);
      t.ok(first, 'taken');
      t.equal(await tryLock(lock), undefined, 'a second try finds it held');
      first?.();
      const again = await tryLock(lock);
      t.ok(again, 'taken again after the release');
      again?.({ remove: true });
    });

    t.test('another process sees it held, and free after the release', async (t) => {
      const release = await holdLock(lock);
      t.notOk(await freeElsewhere(lockFile(lock)), 'held while held');
      release();
      t.ok(await freeElsewhere(lockFile(lock)), 'free after the release');
    });

    t.test('a child started while it is held holds it until the child exits', async (t) => {
      const release = await holdLock(lock);
      const child = run('sleep', ['2'], { timeoutMs: 5000 });
      release();
      t.notOk(await freeElsewhere(lockFile(lock)), 'still held by the child after our release');
      await child;
      t.ok(await freeElsewhere(lockFile(lock)), 'free once the child exited');
    });

    t.test('removed by its holder: a waiter takes the new file, not the unlinked one', async (t) => {
      const first = await holdLock(lock);
      const waiting = holdLock(lock, 5000);
      await new Promise((r) => setTimeout(r, 100));
      first({ remove: true });
      const second = await waiting;
      t.notOk(await freeElsewhere(lockFile(lock)), 'the waiter holds the file now at the path');
      second({ remove: true });
    });
  });
}

t.test('the lock directory is root-only, its files 0600', async (t) => {
  const release = await holdLock(`lock-test-${process.pid}-mode`);
  const dir = lstatSync(LOCK_DIR);
  t.ok(dir.isDirectory(), 'a directory, not a link');
  t.equal(dir.uid, 0, 'owned by root');
  t.equal(dir.mode & 0o777, 0o700, 'mode 0700');
  t.equal(statSync(lockFile(`lock-test-${process.pid}-mode`)).mode & 0o777, 0o600, 'the file is 0600');
  release({ remove: true });
});

t.test('an unprivileged process can neither take nor squat a lock name', async (t) => {
  const name = `att/lock-test-${process.pid}-squat`;
  const file = lockFile(name);
  const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
  const squat = await execa('setpriv', [...nobody, 'flock', '-n', file, 'true'], { reject: false });
  t.not(squat.exitCode, 0, `nobody cannot create or lock ${file}: ${squat.stderr}`);
  // Positive control: the same command as nobody does lock a file where nobody may create one.
  const open = mkdtempSync(join(tmpdir(), 'cs-lock-open-'));
  chmodSync(open, 0o1777);
  t.teardown(() => rmSync(open, { recursive: true, force: true }));
  const control = await execa('setpriv', [...nobody, 'flock', '-n', join(open, 'x'), 'true'], {
    reject: false,
  });
  t.equal(
    control.exitCode,
    0,
    `the control: nobody locks a file in a directory open to it ${control.stderr}`,
  );
  const release = await holdLock(name, 2000);
  t.pass('and root still takes the lock at once');
  release({ remove: true });
});
