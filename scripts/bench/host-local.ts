// host-local: ours next to the Go reference, invoked the same way in the same run. Sequential ADD and
// DEL (median) on an empty pool and with 10,000 leases; 50 ADDs at 10 parallel on both, next to the
// Node floor (50 `node22 -e 0` at 10 parallel: what any Node plugin pays); and how long a call holds
// the network's lock (CNI_SUITE_LOCK_TRACE), sequential and 10 parallel. With BENCH_BASELINE=<dir>
// (an earlier build's dist/bin), that build runs beside them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, median, ms, nodeFloor, REFERENCE, runAsync, spread, table, timeSpawn, wallOf } from './lib.ts';

const PREFILLED = 10_000;
const RUNS = 25;
const NETWORK = 'bench';
const PARALLEL_N = 50;
const PARALLEL = 10;
const PARALLEL_ROUNDS = 3;
const BASELINE = process.env.BENCH_BASELINE;

interface Impl {
  name: string;
  file: string;
}

export async function benchHostLocal(): Promise<void> {
  const impls: Impl[] = [{ name: 'ours', file: `${BIN}/host-local` }];
  if (existsSync(`${REFERENCE}/host-local`))
    impls.push({ name: 'reference', file: `${REFERENCE}/host-local` });
  if (BASELINE) impls.push({ name: 'baseline', file: `${BASELINE}/host-local` });
  const root = mkdtempSync(join(tmpdir(), 'bench-host-local-'));
  const netns = `bench-hl-${process.pid}`;
  spawnSync('ip', ['netns', 'add', netns]);
  try {
    const results: Figures[] = [];
    for (const impl of impls)
      results.push(sequential(impl, join(root, impl.name), `/var/run/netns/${netns}`));
    const par = await parallel(impls, root, `/var/run/netns/${netns}`);
    const cols = impls.map((i) => i.name);
    const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
    const row = (label: string, pick: (r: Figures) => number) => [
      label,
      ...results.map((r) => ms(pick(r))),
      results.length > 1 ? ratio(pick(results[0]!), pick(results[1]!)) : '',
    ];
    const parRow = (label: string, xs: Record<string, number[]>) => [
      label,
      ...cols.map((c) => spread(xs[c]!)),
      xs.reference ? ratio(median(xs.ours!), median(xs.reference)) : '',
    ];
    table(
      `host-local (sequential: median of ${RUNS}; parallel: wall time, median [range] of ${PARALLEL_ROUNDS} rounds, interleaved; ${PREFILLED.toLocaleString('en')} leases written beforehand in the reference format)`,
      ['what', ...cols, 'ours / reference'],
      [
        row('ADD, empty pool', (r) => r.addEmpty),
        row('DEL, empty pool', (r) => r.delEmpty),
        row(`ADD, ${PREFILLED} leases`, (r) => r.addFull),
        row(`DEL, ${PREFILLED} leases`, (r) => r.delFull),
        row(`first call after ${PREFILLED} foreign leases`, (r) => r.firstFull),
        parRow(`${PARALLEL_N} ADDs at ${PARALLEL} parallel, empty pool`, par.empty),
        parRow(`${PARALLEL_N} ADDs at ${PARALLEL} parallel, ${PREFILLED} leases`, par.full),
        [`Node floor: ${PARALLEL_N} \`node22 -e 0\` at ${PARALLEL} parallel`, spread(par.floor), '', ''],
      ],
    );
    const ours = results[0]!;
    const o = { empty: median(par.empty.ours!), full: median(par.full.ours!), floor: median(par.floor) };
    const yes = (ok: boolean) => (ok ? 'yes' : 'NO');
    table(
      'host-local goals (ours)',
      ['what', 'figure', 'goal', 'met'],
      [
        [
          `${PARALLEL_N} ADDs at ${PARALLEL} parallel / Node floor`,
          ratio(o.empty, o.floor),
          '≤ 1.3×',
          yes(o.empty <= 1.3 * o.floor),
        ],
        [
          `the same at ${PREFILLED} leases / empty pool`,
          ratio(o.full, o.empty),
          '≤ 1.5×',
          yes(o.full <= 1.5 * o.empty),
        ],
        [
          `ADD at ${PREFILLED} leases / empty, sequential`,
          ratio(ours.addFull, ours.addEmpty),
          '≤ 2×',
          yes(ours.addFull <= 2 * ours.addEmpty),
        ],
        [
          `DEL at ${PREFILLED} leases / empty, sequential`,
          ratio(ours.delFull, ours.delEmpty),
          '≤ 2×',
          yes(ours.delFull <= 2 * ours.delEmpty),
        ],
      ],
    );
    const held = (xs: number[]) =>
      xs.length ? `${ms(median(xs))} / ${ms(percentile(xs, 0.95))}` : 'no trace';
    table(
      'host-local lock per ADD (CNI_SUITE_LOCK_TRACE; empty pool; median / p95)',
      ['what', ...impls.filter((i) => i.name !== 'reference').map((i) => i.name)],
      [
        [
          'held, sequential',
          ...results.filter((_, k) => impls[k]!.name !== 'reference').map((r) => held(r.heldSequential)),
        ],
        ['held, 10 parallel', ...cols.filter((c) => c !== 'reference').map((c) => held(par.held[c] ?? []))],
        [
          'waited, 10 parallel',
          ...cols.filter((c) => c !== 'reference').map((c) => held(par.waited[c] ?? [])),
        ],
      ],
    );
    console.log('\nThe first call after leases written by someone else rebuilds our attachment index once.');
  } finally {
    spawnSync('ip', ['netns', 'del', netns]);
    rmSync(root, { recursive: true, force: true });
  }
}

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

interface Figures {
  addEmpty: number;
  delEmpty: number;
  addFull: number;
  delFull: number;
  firstFull: number;
  heldSequential: number[];
}

const env = (netns: string, command: string, id: string, trace?: string) => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  CNI_COMMAND: command,
  CNI_CONTAINERID: id,
  CNI_IFNAME: 'eth0',
  CNI_NETNS: netns,
  CNI_PATH: REFERENCE,
  ...(trace ? { CNI_SUITE_LOCK_TRACE: trace } : {}),
});

/** Held (or waited, column 1) milliseconds of the traced calls, and the trace emptied. */
function readTrace(file: string, column = 0): number[] {
  if (!existsSync(file)) return [];
  const xs = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split(' ')[column]));
  return xs.filter((x) => Number.isFinite(x));
}

function sequential(impl: Impl, dir: string, netns: string): Figures {
  const trace = join(dir, 'lock-trace');
  const call = (dataDir: string, command: string, id: string, traced = false) =>
    timeSpawn({
      file: impl.file,
      env: env(netns, command, id, traced ? trace : undefined),
      input: config(dataDir),
    });
  const sequence = (dataDir: string, tag: string, traced = false) => {
    for (let i = 0; i < 3; i++) {
      call(dataDir, 'ADD', `${tag}-warm-${i}`);
      call(dataDir, 'DEL', `${tag}-warm-${i}`);
    }
    const ids = Array.from({ length: RUNS }, (_, i) => `${tag}-${i}`);
    const add = median(ids.map((id) => call(dataDir, 'ADD', id, traced)));
    const del = median(ids.map((id) => call(dataDir, 'DEL', id)));
    return { add, del };
  };

  mkdirSync(dir, { recursive: true });
  const empty = sequence(join(dir, 'empty'), 'e', true);
  const heldSequential = readTrace(trace);
  const full = join(dir, 'full');
  prefill(full);
  const firstFull = call(full, 'ADD', 'first');
  call(full, 'DEL', 'first');
  const loaded = sequence(full, 'f');
  return {
    addEmpty: empty.add,
    delEmpty: empty.del,
    addFull: loaded.add,
    delFull: loaded.del,
    firstFull,
    heldSequential,
  };
}

interface Parallel {
  empty: Record<string, number[]>;
  full: Record<string, number[]>;
  floor: number[];
  held: Record<string, number[]>;
  waited: Record<string, number[]>;
}

/** Rounds of PARALLEL_N ADDs at PARALLEL in flight, interleaved: each impl on a fresh empty pool and on a
 *  prefilled one, then the Node floor. The empty-pool runs are traced. */
async function parallel(impls: Impl[], root: string, netns: string): Promise<Parallel> {
  const byImpl = () => Object.fromEntries(impls.map((i) => [i.name, [] as number[]]));
  const out: Parallel = { empty: byImpl(), full: byImpl(), floor: [], held: byImpl(), waited: byImpl() };
  for (let round = 0; round < PARALLEL_ROUNDS; round++) {
    for (const impl of impls) {
      const dir = join(root, `parallel-${impl.name}-${round}`);
      const trace = join(dir, 'lock-trace');
      const full = join(dir, 'full');
      mkdirSync(dir, { recursive: true });
      prefill(full);
      out.empty[impl.name]!.push(await wallTime(impl.file, join(dir, 'empty'), netns, trace));
      out.full[impl.name]!.push(await wallTime(impl.file, full, netns));
      out.held[impl.name]!.push(...readTrace(trace));
      out.waited[impl.name]!.push(...readTrace(trace, 1));
      rmSync(dir, { recursive: true, force: true });
    }
    out.floor.push(await nodeFloor(PARALLEL_N, PARALLEL));
  }
  return out;
}

const config = (dataDir: string) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: NETWORK,
    type: 'host-local',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.128.0.0/16' }]] },
  });

/** 10,000 leases as the reference writes them, .2 upwards, and its round-robin position after them. */
function prefill(dataDir: string): void {
  const dir = join(dataDir, NETWORK);
  mkdirSync(dir, { recursive: true });
  let last = '';
  for (let i = 0; i < PREFILLED; i++) {
    const n = i + 2;
    last = `10.128.${n >> 8}.${n & 255}`;
    writeFileSync(join(dir, last), `prefilled-${i}\r\neth0`);
  }
  writeFileSync(join(dir, 'last_reserved_ip.0'), last);
}

/** Wall time of PARALLEL_N ADDs with PARALLEL in flight. */
function wallTime(file: string, dataDir: string, netns: string, trace?: string): Promise<number> {
  return wallOf(PARALLEL_N, PARALLEL, (i) =>
    runAsync({ file, env: env(netns, 'ADD', `p-${i}`, trace), input: config(dataDir) }),
  );
}
