// host-local: ours next to the Go reference, invoked the same way in the same run. Sequential ADD and
// DEL (median) on an empty pool and with 10,000 leases, and the wall time of 50 ADDs at 10 parallel.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, median, ms, REFERENCE, runAsync, table, timeSpawn, wallOf } from './lib.ts';

const PREFILLED = 10_000;
const RUNS = 25;
const NETWORK = 'bench';

interface Impl {
  name: string;
  file: string;
}

export async function benchHostLocal(): Promise<void> {
  const impls: Impl[] = [{ name: 'ours', file: `${BIN}/host-local` }];
  if (existsSync(`${REFERENCE}/host-local`))
    impls.push({ name: 'reference', file: `${REFERENCE}/host-local` });
  const root = mkdtempSync(join(tmpdir(), 'bench-host-local-'));
  const netns = `bench-hl-${process.pid}`;
  spawnSync('ip', ['netns', 'add', netns]);
  try {
    const results: Figures[] = [];
    for (const impl of impls)
      results.push(await measure(impl, join(root, impl.name), `/var/run/netns/${netns}`));
    const row = (label: string, pick: (r: Figures) => number) => [
      label,
      ...results.map((r) => ms(pick(r))),
      results.length > 1 ? `${(pick(results[0]!) / pick(results[1]!)).toFixed(1)}×` : '',
    ];
    table(
      `host-local (median of ${RUNS}; ${PREFILLED.toLocaleString('en')} leases written beforehand in the reference format)`,
      ['what', ...impls.map((i) => i.name), 'ours / reference'],
      [
        row('ADD, empty pool', (r) => r.addEmpty),
        row('DEL, empty pool', (r) => r.delEmpty),
        row(`ADD, ${PREFILLED} leases`, (r) => r.addFull),
        row(`DEL, ${PREFILLED} leases`, (r) => r.delFull),
        row(`first call after ${PREFILLED} foreign leases`, (r) => r.firstFull),
        row('50 ADDs at 10 parallel (wall)', (r) => r.parallel),
      ],
    );
    const ours = results[0]!;
    console.log(
      `\nours at ${PREFILLED} leases vs empty: ADD ${(ours.addFull / ours.addEmpty).toFixed(2)}×, DEL ${(ours.delFull / ours.delEmpty).toFixed(2)}× (aim ≤ 2×). ` +
        'The first call after leases written by someone else rebuilds our attachment index once.',
    );
  } finally {
    spawnSync('ip', ['netns', 'del', netns]);
    rmSync(root, { recursive: true, force: true });
  }
}

interface Figures {
  addEmpty: number;
  delEmpty: number;
  addFull: number;
  delFull: number;
  firstFull: number;
  parallel: number;
}

async function measure(impl: Impl, dir: string, netns: string): Promise<Figures> {
  const call = (dataDir: string, command: string, id: string) =>
    timeSpawn({
      file: impl.file,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: id,
        CNI_IFNAME: 'eth0',
        CNI_NETNS: netns,
        CNI_PATH: REFERENCE,
      },
      input: config(dataDir),
    });
  const sequence = (dataDir: string, tag: string) => {
    for (let i = 0; i < 3; i++) {
      call(dataDir, 'ADD', `${tag}-warm-${i}`);
      call(dataDir, 'DEL', `${tag}-warm-${i}`);
    }
    const ids = Array.from({ length: RUNS }, (_, i) => `${tag}-${i}`);
    const add = median(ids.map((id) => call(dataDir, 'ADD', id)));
    const del = median(ids.map((id) => call(dataDir, 'DEL', id)));
    return { add, del };
  };

  const empty = sequence(join(dir, 'empty'), 'e');
  const full = join(dir, 'full');
  prefill(full);
  const firstFull = call(full, 'ADD', 'first');
  call(full, 'DEL', 'first');
  const loaded = sequence(full, 'f');
  const parallel = await wallTime(impl.file, join(dir, 'parallel'), netns, 50, 10);
  return {
    addEmpty: empty.add,
    delEmpty: empty.del,
    addFull: loaded.add,
    delFull: loaded.del,
    firstFull,
    parallel,
  };
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

/** Wall time of `n` ADDs with `parallel` in flight. */
function wallTime(
  file: string,
  dataDir: string,
  netns: string,
  n: number,
  parallel: number,
): Promise<number> {
  const env = (id: string) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: id,
    CNI_IFNAME: 'eth0',
    CNI_NETNS: netns,
    CNI_PATH: REFERENCE,
  });
  return wallOf(n, parallel, (i) => runAsync({ file, env: env(`p-${i}`), input: config(dataDir) }));
}
