// kill -9 during ADD at random moments, with other ADDs running, then DEL of the killed attachment:
// no lease leaks, none is duplicated, nothing half-written blocks later allocations.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
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

t.test('30 ADDs killed around the locked section', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, { ranges: [[{ subnet: '10.41.0.0/16' }], [{ subnet: 'fd00:41::/64' }]] });
  mkdirSync(join(dir, 'hlnet'), { recursive: true });
  const lockFile = join(dir, 'hlnet/lock');
  await runHl(OURS, conf, { command: 'ADD', containerId: 'seed', netns: pod.path });
  const outcome = { finished: 0, killed: 0 };
  let leftBehind = 0;
  for (let i = 0; i < 30; i++) {
    // Hold the network lock so the ADD waits for it, then release it and kill the ADD 0-8 ms later,
    // around its critical section (~1-2 ms once flock has returned).
    const fd = openSync(lockFile, 'r+');
    spawnSync('flock', ['-x', '3'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const fate = killedAdd(conf, `victim-${i}`, (i % 17) * 0.5, released);
    await new Promise((r) => setTimeout(r, 80));
    closeSync(fd);
    release();
    outcome[await fate]++;
    if ([...leases(dir).values()].includes(`victim-${i}\r\neth0`)) leftBehind++;
    t.equal((await runHl(OURS, conf, { command: 'DEL', containerId: `victim-${i}` })).code, 0);
    const live = await runHl(OURS, conf, { command: 'ADD', containerId: `live-${i}`, netns: pod.path });
    t.equal(live.code, 0, `ADD after kill ${i}`);
  }
  t.comment(
    `victims: ${outcome.killed} killed, ${outcome.finished} finished; ${leftBehind} killed after taking a lease`,
  );
  t.ok(leftBehind > 0, 'some kills landed after a lease was written: DEL had something to clean up');
  const owners = [...leases(dir).values()];
  t.notOk(
    owners.some((o) => o.startsWith('victim-')),
    'no killed attachment keeps a lease',
  );
  t.equal(owners.length, 31 * 2, 'one lease per set for every live attachment');
  t.equal(new Set(owners).size, 31, 'none twice');
});
