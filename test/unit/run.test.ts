// lib/sys/run: every child has a time limit (a hung one is killed and reported as code 11), its
// output is captured whole, its input written whole. Each case runs on both ways of starting a
// program: the addon's posix_spawn (native/spawn.c, as built by `npm run build`) and child_process.
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { TimeoutError } from '../../lib/base/errors.js';
import { asCniError } from '../../lib/cni/errors.js';
import { addon, loadFile, useAddon } from '../../lib/sys/addon.js';
import { holdLock, inheritedFds } from '../../lib/sys/lock.js';
import { DEFAULT_TIMEOUT_MS, NotInstalledError, run } from '../../lib/sys/run.js';

// scripts/addon-sanitize runs this file against a build with ASan and UBSan.
const ADDON =
  process.env.CNI_SUITE_ADDON_PATH || join(import.meta.dirname, '../../dist/native/cni-suite.node');
t.comment(`addon: ${ADDON}`);

const paths = [
  ['the addon', () => useAddon(loadFile(ADDON))],
  ['child_process', () => useAddon(undefined)],
] as const;

/** Children of this process that are zombies (exited, not reaped). */
const zombies = () =>
  readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
    .split(' ')
    .filter((pid) => pid && /\) Z /.test(readOr(`/proc/${pid}/stat`)));

/** A file's text, or '' once it is gone (a child reaped since it was listed). */
function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Waits up to 5 s for `done`: a killed child is reaped, and child_process closes its pipes, only
 * after its exit is seen, which a machine loaded by the other test files may delay.
 */
async function eventually(done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) await new Promise((r) => setTimeout(r, 100));
}

/** Where each descriptor of `pid` points ("pipe:[12]", "socket:[34]", a path…); empty once it is gone. */
function targets(pid: number | 'self' | 'none'): Map<string, string> {
  const found = new Map<string, string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {}
  for (const fd of fds)
    try {
      found.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {} // closed since it was listed
  return found;
}

/** A descriptor one process could hand another: a pipe, a socket (child_process's stdio), a pidfd. */
const isPipe = (target: string) => /^(?:pipe|socket|anon_inode):/.test(target);

/** `ls -l /proc/self/fd` as descriptor → target. */
const parseLs = (out: string) =>
  new Map(
    out
      .split('\n')
      .map((line) => / (\d+) -> (.+)$/.exec(line))
      .flatMap((m) => (m?.[1] && m[2] ? [[m[1], m[2]] as const] : [])),
  );

/**
 * The pid of this process's child once it runs `program` with `args` (exec'd: its descriptors in
 * place), waiting up to 5 s. run() gives the child the program's path as its argv[0].
 */
async function childRunning(program: string, args: readonly string[]): Promise<number | undefined> {
  const tail = `/${program}\0${args.join('\0')}\0`;
  for (let i = 0; i < 500; i++) {
    for (const task of readdirSync(`/proc/${process.pid}/task`))
      for (const pid of readOr(`/proc/${process.pid}/task/${task}/children`).split(' '))
        if (pid && readOr(`/proc/${pid}/cmdline`).endsWith(tail)) return Number(pid);
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

for (const [name, use] of paths) {
  t.test(name, async (t) => {
    t.before(use);
    t.teardown(() => useAddon(undefined));

    t.test('this path is the one taken', async (t) => {
      t.equal(addon() !== undefined, name === 'the addon');
    });

    t.test(
      'a child past timeoutMs is killed and rejects with a TimeoutError naming it (11 at the edge)',
      async (t) => {
        const started = Date.now();
        const err = await run('sleep', ['5'], { timeoutMs: 200 }).catch((e: unknown) => e);
        const took = Date.now() - started;
        t.ok(err instanceof TimeoutError, 'a TimeoutError');
        t.match(err, { name: 'TimeoutError', message: /^sleep 5: timed out after 200 ms/ });
        t.equal(asCniError(err).code, 11, 'which the protocol edge answers as 11');
        // The upper bound is the child's own 5 s, not a guess at how busy the machine is.
        t.ok(took >= 190 && took < 4000, `rejected at the limit, not at the child's end (took ${took} ms)`);
      },
    );

    t.test('the timed-out child is killed and reaped, not left running', async (t) => {
      const file = join(tmpdir(), `run-test-pid-${process.pid}`);
      t.teardown(() => rmSync(file, { force: true }));
      await t.rejects(run('sh', ['-c', `echo $$ > ${file}; exec sleep 5`], { timeoutMs: 300 }), {
        name: 'TimeoutError',
      });
      const pid = readFileSync(file, 'utf8').trim();
      await eventually(() => !existsSync(`/proc/${pid}`));
      t.notOk(existsSync(`/proc/${pid}`), `pid ${pid} is gone`);
    });

    t.test('a child that closes its outputs still gets all its input, then its end', async (t) => {
      const file = join(tmpdir(), `run-test-in-${process.pid}`);
      t.teardown(() => rmSync(file, { force: true }));
      const input = 'z'.repeat(300_000);
      const started = Date.now();
      const script = `exec >/dev/null 2>&1; sleep 0.2; cat > ${file}`;
      t.match(await run('sh', ['-c', script], { input, timeoutMs: 20_000 }), { code: 0 });
      t.ok(Date.now() - started < 15_000, 'answered without waiting for the limit');
      t.equal(readFileSync(file, 'utf8'), input);
    });

    t.test('a grandchild holding the pipes open does not hold the call past its limit', async (t) => {
      const started = Date.now();
      await t.rejects(run('sh', ['-c', 'sleep 5 & exit 0'], { timeoutMs: 300 }), { name: 'TimeoutError' });
      t.ok(Date.now() - started < 4000, "rejected at the limit, not at the grandchild's end (5 s)");
    });

    t.test('allowFail does not cover a timeout', async (t) => {
      await t.rejects(run('sleep', ['5'], { timeoutMs: 100, allowFail: true }), { name: 'TimeoutError' });
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
      await eventually(() => zombies().length === 0);
      t.same(zombies(), [], 'no zombie left');
    });

    t.test('descriptors: a held lock reaches the child as its fd 3; nothing else does', async (t) => {
      const fd3 = 'readlink /proc/$$/fd/3 || echo none';
      t.equal((await run('sh', ['-c', fd3])).stdout.trim(), 'none', 'no fd 3 without a lock');
      const release = await holdLock(`run-test-${process.pid}`);
      try {
        const held = inheritedFds().map((fd) => readlinkSync(`/proc/self/fd/${fd}`));
        t.equal(held.length, 1, 'one lock held');
        t.equal((await run('sh', ['-c', fd3])).stdout.trim(), held[0], 'the lock as fd 3');
      } finally {
        release();
      }
    });

    t.test("descriptors: a child started while another runs gets none of the other's pipes", async (t) => {
      // `ls` run directly (no shell, whose own pipeline pipes would show up) lists what it inherited;
      // it opens only the directory it lists.
      const before = targets('self');
      const other = run('sleep', ['30'], { timeoutMs: 10_000 }).catch(() => {});
      const pid = await childRunning('sleep', ['30']);
      t.ok(pid, 'the other child runs');
      // The other child's pipes: its ends (its stdio; not what this process inherited and passes
      // on to every child), and the ends this process holds for it.
      const its = new Set([...targets(pid ?? 'none')].flatMap(([fd, to]) => (Number(fd) < 3 ? [to] : [])));
      for (const [fd, target] of targets('self'))
        if (before.get(fd) !== target && isPipe(target)) its.add(target);
      t.ok(its.size >= 3, `the other child's pipes are known: ${[...its].join(' ')}`);
      const listed = parseLs((await run('ls', ['-l', '/proc/self/fd'])).stdout);
      if (pid) process.kill(pid, 'SIGKILL');
      await other;
      t.ok(
        ['0', '1', '2'].every((fd) => isPipe(listed.get(fd) ?? '')),
        `its own stdin, stdout and stderr are listed: ${JSON.stringify([...listed])}`,
      );
      t.same(
        [...listed].filter(([, target]) => its.has(target)),
        [],
        "none of its descriptors is one of the other child's pipes",
      );
    });

    t.test('no descriptor of ours is left open by a run, whatever its end', async (t) => {
      // Compared by descriptor and target, not counted: what else opens or closes meanwhile is not ours to judge.
      const before = targets('self');
      const left = () =>
        [...targets('self')].filter(([fd, target]) => before.get(fd) !== target && isPipe(target));
      const file = join(tmpdir(), `run-test-x-${process.pid}`);
      writeFileSync(file, '', { mode: 0o600 });
      t.teardown(() => rmSync(file, { force: true }));
      for (let i = 0; i < 5; i++) await run('true', [], { input: 'x' });
      await t.rejects(run('/nonexistent/program', []), NotInstalledError);
      await t.rejects(run(file, []), { code: 'EACCES' });
      await t.rejects(run('sleep', ['5'], { timeoutMs: 50 }), { name: 'TimeoutError' });
      await t.rejects(run('echo', ['a\0b']), 'an argument holding a NUL is refused');
      await eventually(() => left().length === 0);
      t.same(left(), [], 'no pipe, socket or pidfd opened by the runs is left');
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
