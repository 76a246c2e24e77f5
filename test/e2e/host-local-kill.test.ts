// kill -9 during ADD at random moments, with other ADDs running, then DEL of the killed attachment:
// no lease leaks, none is duplicated, nothing half-written blocks later allocations.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { addresses, hlConf, leases, networkFiles, OURS, runHl } from '../helpers/host-local.js';
import { Lab } from '../helpers/lab.js';

/** Rounds go on until this many ADDs were really killed mid-call (at most MAX_ROUNDS). */
const KILLS = 50;
const MAX_ROUNDS = 150;
const lab = await Lab.create(t);
const pod = await lab.container('pod');

/**
 * An ADD killed with SIGKILL `delayMs` after its start (or after `armed` resolves); resolves to
 * whether it finished first.
 */
function killedAdd(
  conf: unknown,
  id: string,
  delayMs: number,
  armed: Promise<void> = Promise.resolve(),
): Promise<'finished' | 'killed'> {
  return new Promise((resolve) => {
    const child = spawn(OURS, [], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: id,
        CNI_IFNAME: 'eth0',
        CNI_NETNS: pod.path,
        CNI_PATH: '/usr/lib/cni',
      },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    let timer: NodeJS.Timeout | undefined;
    void armed.then(() => {
      timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.on('close', (_code, signal) => {
      if (timer) clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(conf));
  });
}

/**
 * Whether some process is blocked on a flock of `file` within 10 s: /proc/locks lists a waiter as
 * "N: -> FLOCK ... <maj>:<min>:<inode> ...". Under load a fixed sleep may end before the ADD has
 * even started, and a kill then lands in its start-up instead of around its critical section.
 */
async function waiterOn(file: string): Promise<boolean> {
  const inode = `:${statSync(file).ino} `;
  for (let i = 0; i < 1000; i++) {
    const locks = readFileSync('/proc/locks', 'utf8').split('\n');
    if (locks.some((l) => l.includes('->') && l.includes(inode))) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

t.test(`${KILLS} ADDs killed at random moments beside live ADDs`, async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, { ranges: [[{ subnet: '10.40.0.0/16' }], [{ subnet: 'fd00:40::/64' }]] });
  // Deterministic "random" delays spread over the whole life of a call (~35-50 ms here).
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const outcome = { finished: 0, killed: 0 };
  const survivors: string[] = [];
  for (let i = 0; outcome.killed < KILLS && i < MAX_ROUNDS; i++) {
    const victim = `victim-${i}`;
    const survivor = `live-${i}`;
    const [fate, live] = await Promise.all([
      killedAdd(conf, victim, 5 + next() * 45),
      runHl(OURS, conf, { command: 'ADD', containerId: survivor, netns: pod.path }),
    ]);
    outcome[fate]++;
    t.equal(live.code, 0, `live ADD ${i} succeeds beside a killed one: ${live.stdout}`);
    survivors.push(survivor);
    const d = await runHl(OURS, conf, { command: 'DEL', containerId: victim });
    t.equal(d.code, 0, `DEL after kill ${i}`);
  }
  t.comment(`victims: ${outcome.killed} killed mid-call, ${outcome.finished} finished before the kill`);
  t.ok(outcome.killed >= KILLS, `${KILLS} victims really were killed mid-call`);

  const held = leases(dir);
  const owners = [...held.values()];
  t.notOk(
    owners.some((o) => o.startsWith('victim-')),
    'no killed attachment keeps a lease after its DEL',
  );
  t.equal(held.size, survivors.length * 2, 'exactly one lease per set for every live attachment');
  t.equal(new Set(owners).size, survivors.length, 'no live attachment holds two leases in a set');
  t.ok(
    networkFiles(dir).every((f) => f === 'lock' || f.startsWith('last_reserved_ip.') || held.has(f)),
    'no stray (half-written or scratch) files in the network directory',
  );

  // Later allocations are neither blocked nor duplicated.
  const more = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      runHl(OURS, conf, { command: 'ADD', containerId: `after-${i}`, netns: pod.path }),
    ),
  );
  t.equal(more.filter((r) => r.code !== 0).length, 0, 'ADDs after the kills succeed');
  const fresh = more.map((r) => addresses(r.json)[0]!.split('/')[0]!);
  t.equal(
    new Set([...fresh, ...held.keys()]).size,
    fresh.length + held.size,
    'and get addresses nobody holds',
  );

  for (const id of [...survivors, ...Array.from({ length: 20 }, (_, i) => `after-${i}`)])
    await runHl(OURS, conf, { command: 'DEL', containerId: id });
  t.same(networkFiles(dir), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock'], 'no leak at all');
});

t.test('ADDs killed around the locked section', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, { ranges: [[{ subnet: '10.41.0.0/16' }], [{ subnet: 'fd00:41::/64' }]] });
  mkdirSync(join(dir, 'hlnet'), { recursive: true });
  const lockFile = join(dir, 'hlnet/lock');
  await runHl(OURS, conf, { command: 'ADD', containerId: 'seed', netns: pod.path });
  /** An ADD that waits on the held lock, is let go, and is killed `killAfterMs` later. */
  const lockedAdd = async (id: string, killAfterMs: number) => {
    const fd = openSync(lockFile, 'r+');
    spawnSync('flock', ['-x', '3'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const fate = killedAdd(conf, id, killAfterMs, released);
    t.ok(await waiterOn(lockFile), `ADD ${id} is waiting on the lock before it is released`);
    closeSync(fd);
    const start = performance.now();
    release();
    return { fate: await fate, ms: performance.now() - start };
  };
  // How long an ADD lives once the lock is released, on this machine under its current load:
  // the kills below are spread over that span, so some land before and some after the lease.
  const calibration = await lockedAdd('calibration', 60_000);
  t.equal(calibration.fate, 'finished', 'the calibration ADD finishes');
  const span = calibration.ms;
  const outcome = { finished: 0, killed: 0 };
  let leftBehind = 0;
  let rounds = 0;
  // 30 rounds, or up to 60 until a kill has landed after the lease.
  for (let i = 0; i < 30 || (leftBehind === 0 && i < 60); i++, rounds++) {
    const { fate } = await lockedAdd(`victim-${i}`, (span * (i % 15)) / 15);
    outcome[fate]++;
    if (fate === 'killed' && [...leases(dir).values()].includes(`victim-${i}\r\neth0`)) leftBehind++;
    t.equal((await runHl(OURS, conf, { command: 'DEL', containerId: `victim-${i}` })).code, 0);
    const live = await runHl(OURS, conf, { command: 'ADD', containerId: `live-${i}`, netns: pod.path });
    t.equal(live.code, 0, `ADD after kill ${i}`);
  }
  t.comment(
    `victims: ${outcome.killed} killed, ${outcome.finished} finished; ${leftBehind} killed after taking a lease; an ADD lives ${span.toFixed(1)} ms after the lock is released`,
  );
  t.ok(leftBehind > 0, 'some kills landed after a lease was written: DEL had something to clean up');
  const owners = [...leases(dir).values()];
  t.notOk(
    owners.some((o) => o.startsWith('victim-')),
    'no killed attachment keeps a lease',
  );
  t.equal(owners.length, (rounds + 2) * 2, 'one lease per set for every live attachment');
  t.equal(new Set(owners).size, rounds + 2, 'none twice');
});
