// Start-up: VERSION through the single executable next to a bare Node start and the Go reference
// (and an earlier build, with BENCH_BASELINE=<its dist/bin>), interleaved run by run so that the
// machine's drifts touch every figure alike.
import { existsSync } from 'node:fs';
import { BARE_NODE, BIN, median, ms, REFERENCE, type Spawn, table, timeSpawn } from './lib.ts';

const WARM = 3;

export function benchStartup(runs = 30): void {
  const env = { CNI_COMMAND: 'VERSION' };
  const subjects: [string, Spawn][] = [
    ['cni-suite VERSION', { file: `${BIN}/bridge-route`, env }],
    ['node22 -e 0', BARE_NODE],
  ];
  const baseline = process.env.BENCH_BASELINE;
  if (baseline)
    subjects.push(['VERSION, the BENCH_BASELINE build', { file: `${baseline}/bridge-route`, env }]);
  if (existsSync(`${REFERENCE}/bridge`))
    subjects.push(['reference bridge VERSION', { file: `${REFERENCE}/bridge`, env }]);
  const times = subjects.map(() => [] as number[]);
  for (let i = 0; i < WARM + runs; i++)
    subjects.forEach(([, s], k) => {
      const t = timeSpawn(s);
      if (i >= WARM) times[k]!.push(t);
    });
  const [ours, bare] = [median(times[0]!), median(times[1]!)];
  const rows = subjects.map(([what], k) => {
    const m = median(times[k]!);
    const note =
      k === 0
        ? `${(m - bare).toFixed(1)} ms over bare Node (aim ≤ 5 ms)`
        : what.includes('BASELINE')
          ? `${(m - bare).toFixed(1)} ms over bare Node; this build minus it: ${(ours - m).toFixed(1)} ms`
          : '';
    return [what, ms(m), note];
  });
  table(`Start-up (median of ${runs}, interleaved)`, ['what', 'median', 'note'], rows);
}
