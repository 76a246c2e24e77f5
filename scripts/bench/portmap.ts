// portmap: ADD/DEL with 1 and with 50 mappings, next to the reference portmap, each chained after
// our bridge-route in its own host netns (the pods are attached once; only portmap is timed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../../test/helpers/lab.ts';
import { common, pluginEnv, RUNS, type Subject, subject, WARM } from './calls.ts';
import { BIN, median, ms, REFERENCE, table, timeSpawn } from './lib.ts';

const SIZES = [1, 50];

export async function benchPortmap(): Promise<void> {
  const teardowns: (() => unknown)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bench-portmap-'));
  try {
    const lab = await Lab.create({ teardown: (fn) => void teardowns.push(fn) });
    const pods = RUNS + WARM;
    const hosts = [
      await subject(
        lab,
        'ours',
        `${BIN}/bridge-route`,
        { ...common(dir, 'ours'), type: 'bridge-route' },
        pods,
      ),
      await subject(lab, 'ref', `${BIN}/bridge-route`, { ...common(dir, 'ref'), type: 'bridge-route' }, pods),
    ];
    // Each host's pods, attached once; their results are the prevResult portmap is chained on.
    const prev = hosts.map((h) => h.pods.map((_, i) => attach(h, i)));
    const rows: string[][] = [];
    for (const size of SIZES) {
      const conf = (k: number, i: number) =>
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'benchnet',
          type: 'portmap',
          capabilities: { portMappings: true },
          runtimeConfig: {
            portMappings: Array.from({ length: size }, (_, m) => ({
              hostPort: 10000 + i * size + m,
              containerPort: 80,
              protocol: 'tcp',
            })),
          },
          prevResult: prev[k]![i],
        });
      const files = [`${BIN}/portmap`, `${REFERENCE}/portmap`];
      const timed = (k: number, command: string, i: number) =>
        timeSpawn({
          file: 'ip',
          args: ['netns', 'exec', hosts[k]!.host.name, files[k]!],
          env: { ...pluginEnv(hosts[k]!, command, i), CNI_PATH: REFERENCE },
          input: conf(k, i),
        });
      /** Medians of the command over all pods, ours and the reference interleaved, warm-up dropped. */
      const medians = (command: string) => {
        const times: number[][] = [[], []];
        for (let i = 0; i < pods; i++)
          for (const k of [0, 1]) {
            const t = timed(k, command, i);
            if (i >= WARM) times[k]!.push(t);
          }
        return times.map(median);
      };
      const [a, d] = [medians('ADD'), medians('DEL')];
      rows.push(
        [
          `ADD, ${size} mapping${size > 1 ? 's' : ''}`,
          ms(a[0]!),
          ms(a[1]!),
          `${(a[0]! / a[1]!).toFixed(2)}×`,
        ],
        [
          `DEL, ${size} mapping${size > 1 ? 's' : ''}`,
          ms(d[0]!),
          ms(d[1]!),
          `${(d[0]! / d[1]!).toFixed(2)}×`,
        ],
      );
    }
    table(
      `portmap ADD/DEL chained after bridge-route, ${RUNS} pods each holding the mappings (median after ${WARM} warm-up, interleaved; each in its own host netns)`,
      ['what', 'ours', 'reference portmap', 'ours / reference'],
      rows,
    );
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ADD of pod i with bridge-route; its result. */
function attach(h: Subject, i: number): unknown {
  const r = spawnSync('ip', ['netns', 'exec', h.host.name, h.file], {
    env: pluginEnv(h, 'ADD', i),
    input: h.conf,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bridge-route ADD failed: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout);
}
