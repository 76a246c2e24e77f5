// lib/sys/lock: a named lock is an abstract unix socket's address, bound through the addon
// (native/name.c, as built by `npm run build`) or through node:net without it; either way one
// holder at a time, in this process or another, and free again once released.
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { loadFile, useAddon } from '../../lib/sys/addon.js';
import { tryLock } from '../../lib/sys/lock.js';

const ADDON = join(import.meta.dirname, '../../dist/native/cni-suite.node');

for (const [name, use] of [
  ['the addon', () => useAddon(loadFile(ADDON))],
  ['node:net', () => useAddon(undefined)],
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
      again?.();
    });

    t.test('another process sees it held, and free after the release', async (t) => {
      // The address another process would bind: `ss` lists it as @cni-suite/<name>.
      const listed = async () => (await execa('ss', ['-xa'])).stdout.includes(`@cni-suite/${lock}`);
      t.notOk(await listed(), 'not bound before');
      const release = await tryLock(lock);
      t.ok(await listed(), 'bound while held');
      release?.();
      t.notOk(await listed(), 'unbound after the release');
    });
  });
}
