// bridge-route: ours (bridge-route + host-local run in-process) next to the Go reference bridge +
// host-local, each inside its own fresh "host" netns and spawned the same way (`ip netns exec`),
// interleaved call by call. Sequential ADD/DEL latency, 50 ADDs/DELs at 10 parallel, and cross-host
// iperf3 throughput against the same topology built by hand with `ip`. With BENCH_BASELINE=<dir>
// (the dist/bin of an earlier build, e.g. the previous commit's), that build runs beside them in
// the same run, so a change can be compared with what it replaces.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../test/helpers/cluster.ts';
import { type Host, ip, Lab, type Netns } from '../../test/helpers/lab.ts';
import { callFile } from '../../test/helpers/plugin.ts';
import { call, pluginEnv, type Subject } from './calls.ts';
import {
  BARE_NODE,
  BIN,
  median,
  ms,
  nodeFloor,
  REFERENCE,
  runAsync,
  spread,
  table,
  timeSpawn,
  wallOf,
} from './lib.ts';

const RUNS = 30;
const WARM = 3;
const PARALLEL_N = 50;
const PARALLEL = 10;
const PARALLEL_ROUNDS = 3;
const IPERF_SECONDS = 5;
const IPERF_ROUNDS = 3;
const PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
const BASELINE = process.env.BENCH_BASELINE;

/** A plugin in its own host netns (see calls.ts). */
type Impl = Subject;

type Teardown = () => unknown;

export async function benchBridgeRoute(): Promise<void> {
  if (!existsSync(`${REFERENCE}/bridge`) || !existsSync(`${REFERENCE}/host-local`)) {
    console.log(
      `\n### bridge-route\n\nskipped: the reference plugins are not in ${REFERENCE} (run scripts/setup)`,
    );
    return;
  }
  const teardowns: Teardown[] = [];
  const t = { teardown: (fn: Teardown) => void teardowns.push(fn) };
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-route-'));
  try {
    const impls = await hostsAndPods(t, dir);
    latency(impls);
    await parallel(impls, 'ipMasq: true');
    await parallel(await withoutMasq(t, impls), 'ipMasq: false');
    if (spawnSync('iperf3', ['--version']).status === 0) await throughput(t, dir);
    else console.log('\niperf3 is not installed (scripts/setup installs it): throughput skipped');
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One fresh host per implementation, each with PARALLEL_N empty pod netns. A host as real ones are:
 * eth0 on an underlay and a default route (without one, ours never read the uplink for its MTU).
 */
async function hostsAndPods(t: { teardown(fn: Teardown): void }, dir: string): Promise<Impl[]> {
  const lab = await Lab.create(t);
  const common = { cniVersion: '1.0.0', name: 'benchnet', bridge: 'cni0', ipMasq: true };
  const ipam = (name: string) => ({ type: 'host-local', subnet: '10.244.1.0/24', dataDir: join(dir, name) });
  const specs: { name: string; file: string; cniPath: string; conf: Record<string, unknown> }[] = [
    {
      name: 'ours',
      file: `${BIN}/bridge-route`,
      cniPath: BIN,
      conf: { ...common, type: 'bridge-route', clusterCIDR: '10.244.0.0/16', ipam: ipam('ours') },
    },
    {
      name: 'reference',
      file: `${REFERENCE}/bridge`,
      cniPath: REFERENCE,
      conf: { ...common, type: 'bridge', isGateway: true, isDefaultGateway: true, ipam: ipam('reference') },
    },
  ];
  if (BASELINE)
    specs.push({
      ...specs[0]!,
      name: 'baseline',
      file: `${BASELINE}/bridge-route`,
      cniPath: BASELINE,
      conf: { ...specs[0]!.conf, ipam: ipam('baseline') },
    });

  const impls: Impl[] = [];
  for (const s of specs) {
    const host = await lab.host(`${s.name}-host`);
    const pods: Netns[] = [];
    for (let i = 0; i < PARALLEL_N; i += 10)
      pods.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(10, PARALLEL_N - i) }, (_, k) => lab.netns(`${s.name}${i + k}`)),
        )),
      );
    impls.push({ ...s, host, pods, conf: JSON.stringify(s.conf) });
  }
  return impls;
}

/** The same implementations with ipMasq off, each on a fresh host, on the same (empty) pods. */
async function withoutMasq(t: { teardown(fn: Teardown): void }, impls: Impl[]): Promise<Impl[]> {
  const lab = await Lab.create(t);
  const out: Impl[] = [];
  for (const impl of impls) {
    const conf = { ...JSON.parse(impl.conf), ipMasq: false };
    conf.ipam = { ...conf.ipam, dataDir: `${conf.ipam.dataDir}-nomasq` };
    out.push({ ...impl, host: await lab.host(`${impl.name}-nomasq`), conf: JSON.stringify(conf) });
  }
  return out;
}

const byImpl = (impls: Impl[]) => Object.fromEntries(impls.map((i) => [i.name, [] as number[]]));

function latency(impls: Impl[]): void {
  for (let i = 0; i < WARM; i++) for (const impl of impls) call(impl, 'ADD', i);
  for (let i = 0; i < WARM; i++) for (const impl of impls) call(impl, 'DEL', i);
  const add = byImpl(impls);
  const del = byImpl(impls);
  const nsExec = byImpl(impls);
  const bare: number[] = [];
  const exec = (impl: Impl) =>
    timeSpawn({ file: 'ip', args: ['netns', 'exec', impl.host.name, 'true'], env: { PATH } });
  for (let i = 0; i < RUNS; i++) {
    for (const impl of impls) add[impl.name]!.push(call(impl, 'ADD', i));
    for (const impl of impls) nsExec[impl.name]!.push(exec(impl));
    bare.push(timeSpawn(BARE_NODE));
  }
  for (let i = 0; i < RUNS; i++) for (const impl of impls) del[impl.name]!.push(call(impl, 'DEL', i));
  if (BASELINE) baselineTable('sequential, median of each', { ADD: add, DEL: del });
  const m = (xs: number[] | undefined) => median(xs ?? []);
  const node = m(bare);
  const yes = (ok: boolean) => (ok ? 'yes' : 'NO');
  const ratioRow = (label: string, o: number, r: number, goal: number) => [
    label,
    ms(o),
    ms(r),
    `${(o / r).toFixed(2)}×`,
    `≤ ${goal}×`,
    yes(o / r <= goal),
  ];
  const overNodeRow = (label: string, o: number, r: number, goal: number) => [
    label,
    ms(o - node),
    ms(r),
    `${((o - node) / r).toFixed(2)}×`,
    `≤ ${goal}×`,
    yes(o - node <= goal * r),
  ];
  const a = { o: m(add.ours), r: m(add.reference) };
  const d = { o: m(del.ours), r: m(del.reference) };
  table(
    `bridge-route ADD/DEL, sequential (median of ${RUNS} after ${WARM} warm-up, interleaved; each plugin in its own host netns via \`ip netns exec\`)`,
    ['what', 'ours', 'reference', 'ours / reference', 'goal', 'met'],
    [
      ratioRow('ADD', a.o, a.r, 2.5),
      ratioRow('DEL', d.o, d.r, 1.5),
      overNodeRow('ADD, ours minus a bare Node start', a.o, a.r, 0.8),
      overNodeRow('DEL, ours minus a bare Node start', d.o, d.r, 1),
      [
        '`ip netns exec <host> true` (inside every figure above)',
        ms(m(nsExec.ours)),
        ms(m(nsExec.reference)),
        '',
        '',
        '',
      ],
      ['bare Node start (`node22 -e 0`, spawned directly)', ms(node), '', '', '', ''],
    ],
  );
}

/** Wall time of PARALLEL_N calls with PARALLEL in flight. */
function wall(impl: Impl, command: string): Promise<number> {
  return wallOf(PARALLEL_N, PARALLEL, (i) =>
    runAsync({
      file: 'ip',
      args: ['netns', 'exec', impl.host.name, impl.file],
      env: pluginEnv(impl, command, i),
      input: impl.conf,
    }),
  );
}

async function parallel(impls: Impl[], what: string): Promise<void> {
  const add = byImpl(impls);
  const del = byImpl(impls);
  const floor: number[] = [];
  for (let round = 0; round < PARALLEL_ROUNDS; round++) {
    for (const impl of impls) add[impl.name]!.push(await wall(impl, 'ADD'));
    for (const impl of impls) del[impl.name]!.push(await wall(impl, 'DEL'));
    floor.push(await nodeFloor(PARALLEL_N, PARALLEL));
  }
  const node = median(floor);
  const row = (label: string, xs: Record<string, number[]>, goal: number, overFloor = false) => {
    const o = median(xs.ours!) - (overFloor ? node : 0);
    const r = median(xs.reference!);
    return [
      label,
      overFloor ? ms(o) : spread(xs.ours!),
      spread(xs.reference!),
      `${(o / r).toFixed(2)}×`,
      `≤ ${goal}×`,
      o <= goal * r ? 'yes' : 'NO',
    ];
  };
  table(
    `bridge-route, ${what}, ${PARALLEL_N} calls at ${PARALLEL} parallel (wall time, median [range] of ${PARALLEL_ROUNDS} rounds, interleaved)`,
    ['what', 'ours', 'reference', 'ours / reference', 'goal', 'met'],
    [
      row(`${PARALLEL_N} ADDs`, add, 1.3),
      row(`their ${PARALLEL_N} DELs`, del, 1),
      row(`${PARALLEL_N} ADDs, ours minus the Node floor`, add, 1.3, true),
      row(`their ${PARALLEL_N} DELs, ours minus the Node floor`, del, 1.3, true),
      [`Node floor: ${PARALLEL_N} \`node22 -e 0\` at ${PARALLEL} parallel`, spread(floor), '', '', '', ''],
    ],
  );
  if (BASELINE)
    baselineTable(`${what}, ${PARALLEL_N} at ${PARALLEL} parallel, wall`, {
      [`${PARALLEL_N} ADDs`]: add,
      [`their ${PARALLEL_N} DELs`]: del,
    });
}

/** This build next to the BENCH_BASELINE build, measured in the same loops. */
function baselineTable(what: string, rows: Record<string, Record<string, number[]>>): void {
  table(
    `bridge-route, this build next to the baseline build (${BASELINE}): ${what}`,
    ['what', 'ours', 'baseline', 'ours / baseline'],
    Object.entries(rows).map(([label, xs]) => {
      const o = median(xs.ours!);
      const b = median(xs.baseline!);
      return [label, ms(o), ms(b), `${(o / b).toFixed(2)}×`];
    }),
  );
}

export interface Pair {
  name: string;
  server: Netns;
  client: Netns;
  addr: string;
}

/** Two hosts on an underlay, a pod on each, wired by `wire(host, n)`; the peer route added by hand. */
async function twoHosts(
  t: { teardown(fn: Teardown): void },
  name: string,
  wire: (lab: Lab, host: Host, n: number) => Promise<Netns>,
): Promise<Pair> {
  const lab = await Lab.create(t);
  const hosts = [await lab.host('h1'), await lab.host('h2')];
  const pods: Netns[] = [];
  for (const [i, host] of hosts.entries()) {
    pods.push(await wire(lab, host, i + 1));
    const peer = hosts[1 - i]!;
    await ip(['route', 'replace', `10.244.${2 - i}.0/24`, 'via', peer.ip, 'proto', '201'], host.name);
  }
  return { name, server: pods[1]!, client: pods[0]!, addr: '10.244.2.2' };
}

/** bridge + veth + addresses + routes with `ip`, no plugin, no firewall. */
async function byHand(lab: Lab, host: Host, n: number): Promise<Netns> {
  const pod = await lab.container(`p${n}`);
  const h = (args: string[]) => ip(args, host.name);
  await h(['link', 'add', 'cni0', 'type', 'bridge']);
  await h(['addr', 'add', `10.244.${n}.1/24`, 'dev', 'cni0']);
  await h(['link', 'set', 'cni0', 'up']);
  await h(['link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name]);
  await h(['link', 'set', 'veth0', 'master', 'cni0', 'up']);
  await ip(['addr', 'add', `10.244.${n}.2/24`, 'dev', 'eth0'], pod.name);
  await ip(['link', 'set', 'eth0', 'up'], pod.name);
  await ip(['route', 'add', 'default', 'via', `10.244.${n}.1`], pod.name);
  const r = spawnSync('ip', ['netns', 'exec', host.name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  if (r.status !== 0) throw new Error(`sysctl in ${host.name}: ${r.stderr}`);
  return pod;
}

/** The reference bridge plugin (ipMasq: it NATs what leaves its subnet, so cross-host traffic too). */
const referencePlugin =
  (dir: string) =>
  async (lab: Lab, host: Host, n: number): Promise<Netns> => {
    const pod = await lab.container(`p${n}`);
    const conf = {
      cniVersion: '1.0.0',
      name: 'benchnet',
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      isDefaultGateway: true,
      ipMasq: true,
      ipam: { type: 'host-local', subnet: `10.244.${n}.0/24`, dataDir: join(dir, `iperf-ref-h${n}`) },
    };
    const r = await callFile(`${REFERENCE}/bridge`, conf, {
      command: 'ADD',
      containerId: `iperf-${n}`,
      netns: pod.path,
      ifname: 'eth0',
      hostNetns: host.name,
      path: REFERENCE,
    });
    if (r.exitCode !== 0) throw new Error(`reference bridge ADD: ${r.stdout}${r.stderr}`);
    return pod;
  };

async function ourPlugin(
  t: { teardown(fn: Teardown): void },
  name: string,
  conf: Record<string, unknown> = {},
): Promise<Pair> {
  const c = await Cluster.create(t, { cniPath: BIN, conf });
  const a = await c.addPod(c.hosts[0]!, 'a');
  const b = await c.addPod(c.hosts[1]!, 'b');
  return { name, server: b, client: a, addr: b.ip };
}

/** One iperf3 TCP run from `client` to a one-off server in `server`; bits per second received. */
export async function iperf(p: Pair): Promise<number> {
  const srv = spawn('ip', ['netns', 'exec', p.server.name, 'iperf3', '-s', '-1', '--forceflush'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`iperf3 -s in ${p.server.name}: ${out}`)), 5000);
      srv.stdout.on('data', (d) => {
        out += d;
        if (out.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      srv.on('close', (code) => reject(new Error(`iperf3 -s exited ${code}: ${out}`)));
    });
    const out = await runAsync({
      file: 'ip',
      args: ['netns', 'exec', p.client.name, 'iperf3', '-c', p.addr, '-t', String(IPERF_SECONDS), '-J'],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin' },
    });
    return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received
      .bits_per_second;
  } finally {
    srv.kill();
  }
}

async function throughput(t: { teardown(fn: Teardown): void }, dir: string): Promise<void> {
  const pairs = [
    await ourPlugin(t, 'bridge-route (ipMasq, clusterCIDR, peers)'),
    await twoHosts(t, 'by hand with `ip` (no plugin, no firewall)', byHand),
    // Without ipMasq there is no NAT hook, hence no conntrack: the data path alone.
    await ourPlugin(t, 'bridge-route, ipMasq false (no nat hook, no conntrack)', { ipMasq: false }),
    await twoHosts(t, 'reference bridge (ipMasq: NATs cross-host too) + peer route', referencePlugin(dir)),
  ];
  await compareThroughput(
    `bridge-route, pod to pod across two hosts: iperf3 TCP, ${IPERF_SECONDS} s a run, ${IPERF_ROUNDS} runs each, interleaved (Gbit/s)`,
    pairs,
    IPERF_ROUNDS,
  );
}

/** iperf3 over each pair, alternated for `rounds`; pairs[0] is ours (goal ≥ 0.95×), pairs[1] built by hand. */
export async function compareThroughput(title: string, pairs: Pair[], rounds: number): Promise<void> {
  const runs = pairs.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++)
    for (const [i, p] of pairs.entries()) runs[i]!.push(await iperf(p));
  const gbit = (bps: number) => `${(bps / 1e9).toFixed(2)}`;
  const hand = median(runs[1]!);
  table(
    title,
    ['topology', 'median', 'runs', 'vs by hand', 'goal', 'met'],
    pairs.map((p, i) => {
      const med = median(runs[i]!);
      const ours = i === 0;
      return [
        p.name,
        gbit(med),
        runs[i]!.map(gbit).join(', '),
        `${(med / hand).toFixed(2)}×`,
        ours ? '≥ 0.95×' : '',
        ours ? (med / hand >= 0.95 ? 'yes' : 'NO') : '',
      ];
    }),
  );
}
