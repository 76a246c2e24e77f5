// lib/sys/run: every child has a time limit (a hung one is killed and reported as code 11), its
// output is captured whole, its input written whole. Each case runs on both ways of starting a
// program: the addon's posix_spawn (native/spawn.c, as built by `npm run build`) and child_process.
import { closeSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CniError } from '../../lib/cni/errors.js';
import { addon, loadFile, useAddon } from '../../lib/sys/addon.js';
import { DEFAULT_TIMEOUT_MS, NotInstalledError, run } from '../../lib/sys/run.js';

const ADDON = join(import.meta.dirname, '../../dist/native/cni-suite.node');

const paths = [
  ['the addon', () => useAddon(loadFile(ADDON))],
  ['child_process', () => useAddon(undefined)],
] as const;

/** Children of this process that are zombies (exited, not reaped). */
const zombies = () =>
  readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
    .split(' ')
    .filter((pid) => pid && /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')));

for (const [name, use] of paths) {
  t.test(name, async (t) => {
    t.before(use);
    t.teardown(() => useAddon(undefined));

    t.test('this path is the one taken', async (t) => {
      t.equal(addon() !== undefined, name === 'the addon');
    });

    t.test('a child past timeoutMs is killed and rejects with code 11 naming it', async (t) => {
      const started = Date.now();
      const err = await run('sleep', ['5'], { timeoutMs: 200 }).catch((e: unknown) => e);
      const took = Date.now() - started;
      t.ok(err instanceof CniError, 'a CniError');
      t.match(err, { code: 11, message: /^sleep 5: timed out after 200 ms/ });
      t.ok(took >= 190 && took < 1000, `rejected after ~200 ms (took ${took} ms)`);
    });

    t.test('a grandchild holding the pipes open does not hold the call past its limit', async (t) => {
      const started = Date.now();
      await t.rejects(run('sh', ['-c', 'sleep 3 & exit 0'], { timeoutMs: 300 }), { code: 11 });
      t.ok(Date.now() - started < 1500, 'rejected at the limit');
    });

    t.test('allowFail does not cover a timeout', async (t) => {
      await t.rejects(run('sleep', ['5'], { timeoutMs: 100, allowFail: true }), { code: 11 });
    });

    t.test('a child within its time limit is unaffected; exit codes and signals', async (t) => {
      t.equal(DEFAULT_TIMEOUT_MS, 30_000);
      t.match(await run('sh', ['-c', 'sleep 0.1; echo hi'], { timeoutMs: 2000 }), {
        code: 0,
        stdout: 'hi\n',
      });
      t.match(await run('sh', ['-c', 'exit 3'], { allowFail: true }), { code: 3 });
      t.match(await run('sh', ['-c', 'kill -9 $$'], { allowFail: true }), { code: 128 });
      await t.rejects(run('sh', ['-c', 'echo why >&2; exit 2']), {
        name: 'CommandError',
        message: 'sh -c echo why >&2; exit 2: why',
      });
    });

    t.test('input and output of a megabyte each, at once, arrive whole', async (t) => {
      const input = `${'x'.repeat(1023)}\n`.repeat(1024);
      // cat echoes as it reads: neither side may wait for the other to finish.
      const r = await run('sh', ['-c', 'cat; cat /proc/self/status >&2'], { input });
      t.equal(r.stdout.length, input.length);
      t.equal(r.stdout, input);
      t.match(r.stderr, /^Name:\s+cat/);
    });

    t.test('a child that reads no input still answers (EPIPE is not an error)', async (t) => {
      const r = await run('sh', ['-c', 'echo done'], { input: 'y'.repeat(1 << 20) });
      t.equal(r.stdout, 'done\n');
    });

    t.test('the child gets its argv, only the env given, and stdin', async (t) => {
      const script = 'printf "%s|" "$0" "$1" "$FOO" "$HOME"; cat';
      const r = await run('sh', ['-c', script, 'a b'], {
        env: { PATH: process.env.PATH, FOO: 'bar=baz' },
        input: 'in',
      });
      t.equal(r.stdout, 'a b||bar=baz||in');
    });

    t.test('the child starts with no signal blocked or ignored', async (t) => {
      const r = await run('grep', ['-E', '^Sig(Blk|Ign)', '/proc/self/status']);
      const [blk, ign] = r.stdout.split('\n');
      t.match(blk, /^SigBlk:\s+0+$/, 'none blocked');
      // 32 and 33 are glibc's own (threads), which posix_spawn leaves as they are.
      const ignored = BigInt(`0x${ign?.split(/\s+/)[1] ?? 'f'}`) & ~(3n << 31n);
      t.equal(ignored, 0n, `none ignored but glibc's (Node ignores SIGPIPE): ${ign}`);
    });

    t.test('a program not on PATH is NotInstalledError; one that cannot run is an error', async (t) => {
      await t.rejects(run('no-such-program-here', []), NotInstalledError);
      const file = join(tmpdir(), `run-test-${process.pid}`);
      writeFileSync(file, 'not a program', { mode: 0o600 });
      t.teardown(() => rmSync(file, { force: true }));
      await t.rejects(run(file, []), { code: 'EACCES' });
    });

    t.test('each child is reaped', async (t) => {
      for (let i = 0; i < 20; i++) await run('true', []);
      await run('sleep', ['5'], { timeoutMs: 50 }).catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
      t.same(zombies(), [], 'no zombie left');
    });

    t.test('descriptors: no file of ours reaches the child', async (t) => {
      const file = join(tmpdir(), `run-test-fd-${process.pid}`);
      const fd = openSync(file, 'w');
      t.teardown(() => {
        closeSync(fd);
        rmSync(file, { force: true });
      });
      t.ok(readlinkSync(`/proc/self/fd/${fd}`).endsWith(file), 'open here');
      const r = await run('sh', ['-c', 'for f in /proc/$$/fd/*; do readlink "$f"; done'], {
        allowFail: true,
      });
      t.equal(r.stdout.split('\n').filter(Boolean).length >= 3, true, 'the child lists its stdio');
      t.notOk(r.stdout.includes(file), 'not in the child');
    });
  });
}
