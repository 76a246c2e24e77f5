// cni-suite agent on a real etcd: join-to-converged time of three hosts started together; one host
// converging with 200 simulated peers (written straight into etcd) next to 1; the ADD latency of a
// pod on that host with 200 peers next to 1. With BENCH_BASELINE=<an earlier build's dist/bin>,
// VERSION and ADD of that build beside this one: what carrying the agent costs a plugin call.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, agentCommand, agentFiles, Etcd, fileFlags, within } from '../../test/helpers/agent.ts';
import { ip, Lab, type Netns } from '../../test/helpers/lab.ts';
import { call, RUNS, type Subject, subject, WARM } from './calls.ts';
import { BIN, median, medianOf, ms, table, timeSpawn } from './lib.ts';

type Teardown = () => unknown;
const ROUNDS = 3;

export async function benchAgent(): Promise<void> {
  const teardowns: Teardown[] = [];
  const t = { teardown: (fn: Teardown) => void teardowns.push(fn) };
  try {
    const joins: number[] = [];
    for (let r = 0; r < ROUNDS; r++) joins.push(await joinThree(t, r));
    table(
      `agent: three hosts started together, until each routes to the other two (${ROUNDS} rounds)`,
      ['what', 'median', 'range'],
      [['join to converged', ms(median(joins)), `${ms(Math.min(...joins))} – ${ms(Math.max(...joins))}`]],
    );
    await manyPeers(t);
    if (process.env.BENCH_BASELINE) await startupCost(t, process.env.BENCH_BASELINE);
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

async function cluster(t: { teardown(fn: Teardown): void }, network: string, cidr: string) {
  const lab = await Lab.create(t);
  const etcd = await Etcd.start(t, await lab.host('etcd'));
  const init = await agentCommand(etcd.host.name, [
    ...['init', '--network', network, '--etcd-endpoints', etcd.url, '--cluster-cidr', cidr, '--no-portmap'],
  ]);
  if (init.code !== 0) throw new Error(`agent init: ${init.stderr}`);
  const start = (host: { name: string }, extra: string[] = []) => {
    const files = agentFiles(t, host.name);
    const agent = new Agent(host.name, [
      ...['--network', network, '--etcd-endpoints', etcd.url, '--node-name', host.name],
      ...fileFlags(files),
      ...extra,
    ]);
    t.teardown(() => agent.kill('SIGKILL'));
    return { agent, files };
  };
  return { lab, etcd, start };
}

/** Time from starting three agents together until every host routes to the other two. */
async function joinThree(t: { teardown(fn: Teardown): void }, round: number): Promise<number> {
  const { lab, start } = await cluster(t, `join${round}`, '10.244.0.0/16');
  const hosts = await Promise.all(['j1', 'j2', 'j3'].map((n) => lab.host(n)));
  const began = Date.now();
  hosts.map((h) => start(h));
  const took = await within(
    30_000,
    async () => {
      for (const h of hosts) {
        const routes = JSON.parse(await ip(['-j', 'route', 'show', 'proto', '201'], h.name)) as unknown[];
        if (routes.length !== 2) return false;
      }
      return true;
    },
    20,
  );
  if (took < 0) throw new Error('bench agent: three hosts did not converge in 30 s');
  return Date.now() - began;
}

/** One host joining a cluster of 1 or 200 simulated peers; then pod ADDs with that conflist. */
async function manyPeers(t: { teardown(fn: Teardown): void }): Promise<void> {
  const rows: string[][] = [];
  const adds: number[] = [];
  for (const n of [1, 200]) {
    const { lab, etcd, start } = await cluster(t, `peers${n}`, '10.200.0.0/16');
    // Simulated hosts: records only, on underlay addresses nobody holds (routes to them are valid).
    await etcd.putMany(
      Array.from({ length: n }, (_, i) => [
        `/cni-suite/peers${n}/subnets/10.200.${i}.0-24`,
        JSON.stringify({ name: `sim${i}`, nodeIP: `192.168.100.${30 + i}`, podCIDR: `10.200.${i}.0/24` }),
      ]),
    );
    const host = await lab.host('me');
    const began = Date.now();
    const { agent, files } = start(host);
    await agent.waitFor('joined', 60_000);
    const took = Date.now() - began;
    const reconciled = agent.lines.find((l) => l.msg === 'reconciled')?.ms as number;
    const listed = (JSON.parse(readFileSync(files.peersFile, 'utf8')) as unknown[]).length;
    const routes = (JSON.parse(await ip(['-j', 'route', 'show', 'proto', '201'], host.name)) as unknown[])
      .length;
    if (listed !== n || routes !== n)
      throw new Error(`bench agent: ${listed} peers listed, ${routes} routes, want ${n}`);
    rows.push([String(n), ms(took), ms(reconciled)]);
    adds.push(await addLatency(lab, host, files.conflist, n));
  }
  table(
    'agent: one host joining N simulated peers (start to converged peersFile and routes; reconcile alone)',
    ['peers', 'start to joined', 'reconcile'],
    rows,
  );
  table(
    `pod ADD (bridge-route + host-local) with the agent's conflist, median of ${RUNS}`,
    ['peers', 'ADD', 'vs 1 peer'],
    [
      ['1', ms(adds[0]!), '1.00×'],
      ['200', ms(adds[1]!), `${(adds[1]! / adds[0]!).toFixed(2)}×`],
    ],
  );
}

/** Median ADD of RUNS pods on `host` with the conflist's main plugin (after WARM). */
async function addLatency(lab: Lab, host: Netns, conflist: string, n: number): Promise<number> {
  const list = JSON.parse(readFileSync(conflist, 'utf8')) as {
    cniVersion: string;
    name: string;
    plugins: object[];
  };
  const conf = JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] });
  const pods = [];
  for (let i = 0; i < RUNS + WARM; i++) pods.push(await lab.netns(`p${n}-${i}`));
  const s: Subject = { name: `a${n}`, file: `${BIN}/bridge-route`, cniPath: BIN, host, pods, conf };
  const times: number[] = [];
  for (let i = 0; i < RUNS + WARM; i++) {
    const took = call(s, 'ADD', i);
    if (i >= WARM) times.push(took);
  }
  return median(times);
}

/** VERSION and a bridge-route ADD through the baseline build and this one, interleaved. */
async function startupCost(t: { teardown(fn: Teardown): void }, baseline: string): Promise<void> {
  if (!existsSync(`${baseline}/bridge-route`))
    throw new Error(`BENCH_BASELINE ${baseline} has no bridge-route`);
  const version = { CNI_COMMAND: 'VERSION' };
  const v = [baseline, BIN].map((dir) =>
    medianOf(30, () => timeSpawn({ file: `${dir}/bridge-route`, env: version })),
  );
  const lab = await Lab.create(t);
  const dir = mkdtempSync(join(tmpdir(), 'bench-agent-base-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const subjects = [];
  for (const [k, bin] of [baseline, BIN].entries()) {
    const conf = {
      cniVersion: '1.0.0',
      name: 'benchnet',
      type: 'bridge-route',
      clusterCIDR: '10.244.0.0/16',
      ipam: { type: 'host-local', subnet: '10.244.1.0/24', dataDir: join(dir, `b${k}`) },
    };
    const s = await subject(lab, `b${k}`, `${bin}/bridge-route`, conf, RUNS + WARM);
    subjects.push({ ...s, cniPath: bin });
  }
  const adds = subjects.map(() => [] as number[]);
  for (let i = 0; i < RUNS + WARM; i++)
    for (const [k, s] of subjects.entries()) {
      const took = call(s, 'ADD', i);
      if (i >= WARM) adds[k]!.push(took);
    }
  const [a0, a1] = adds.map(median) as [number, number];
  table(
    'carrying the agent: the same plugin calls through a build without it (BENCH_BASELINE) and this one',
    ['call', 'baseline', 'this build', 'difference'],
    [
      ['VERSION', ms(v[0]!), ms(v[1]!), `${(v[1]! - v[0]!).toFixed(1)} ms`],
      ['bridge-route ADD', ms(a0), ms(a1), `${(a1 - a0).toFixed(1)} ms`],
    ],
  );
}
