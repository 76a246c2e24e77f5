// Start-up: VERSION through the single executable next to a bare Node start and the Go reference
// (and an earlier build, with BENCH_BASELINE=<its dist/bin>).
import { existsSync } from 'node:fs';
import { BIN, bareNode, medianOf, ms, REFERENCE, table, timeSpawn } from './lib.ts';

export function benchStartup(runs = 30): void {
  const version = { CNI_COMMAND: 'VERSION' };
  const ours = medianOf(runs, () => timeSpawn({ file: `${BIN}/bridge-route`, env: version }));
  const bare = bareNode(runs);
  const rows = [
    ['cni-suite VERSION', ms(ours), `${(ours - bare).toFixed(1)} ms over bare Node (aim ≤ 5 ms)`],
    ['node22 -e 0', ms(bare), ''],
  ];
  // BENCH_BASELINE=<an earlier build's dist/bin>: its VERSION beside this one's.
  const baseline = process.env.BENCH_BASELINE;
  if (baseline) {
    const before = medianOf(runs, () => timeSpawn({ file: `${baseline}/bridge-route`, env: version }));
    rows.push([
      'VERSION, the BENCH_BASELINE build',
      ms(before),
      `${(before - bare).toFixed(1)} ms over bare Node`,
    ]);
  }
  if (existsSync(`${REFERENCE}/bridge`)) {
    rows.push([
      'reference bridge VERSION',
      ms(medianOf(runs, () => timeSpawn({ file: `${REFERENCE}/bridge`, env: version }))),
      '',
    ]);
  }
  table(`Start-up (median of ${runs})`, ['what', 'median', 'note'], rows);
}
