// vxlan: ADD/DEL next to bridge-route and the reference bridge (each in its own host netns,
// interleaved); ADD with 1, 100 and 1000 peers (the digest keeps it flat); iperf3 pod to pod across
// two routed hosts next to the same VXLAN topology built by hand with `ip`, alternated.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../test/helpers/cluster.ts';
import { ip, Lab, type Netns } from '../../test/helpers/lab.ts';
import { compareThroughput, type Pair } from './bridge-route.ts';
import { addDel, common, overNodeRow, RUNS, type Subject, subject, WARM } from './calls.ts';
import { BIN, bareNode, ms, REFERENCE, table } from './lib.ts';

const IPERF_PAIRS = 5;
type Teardown = () => unknown;
type T = { teardown(fn: Teardown): void };

export async function benchVxlan(): Promise<void> {
  const teardowns: Teardown[] = [];
  const t = { teardown: (fn: Teardown) => void teardowns.push(fn) };
  const dir = mkdtempSync(join(tmpdir(), 'bench-vxlan-'));
  try {
    const lab = await Lab.create(t);
    await latency(lab, dir);
    await peerScaling(lab, dir);
    if (spawnSync('iperf3', ['--version']).status === 0) await throughput(t);
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function latency(lab: Lab, dir: string): Promise<void> {
  const peer = [{ name: 'far', nodeIP: '192.168.100.99', podCIDR: '10.244.9.0/24' }];
  const subjects = [
    await subject(lab, 'vx', `${BIN}/vxlan`, { ...common(dir, 'vx'), type: 'vxlan', peers: peer }, RUNS),
    await subject(lab, 'br', `${BIN}/bridge-route`, { ...common(dir, 'br'), type: 'bridge-route' }, RUNS),
    await subject(
      lab,
      'ref',
      `${REFERENCE}/bridge`,
      { ...common(dir, 'ref'), type: 'bridge', isGateway: true, ipMasq: true },
      RUNS,
    ),
  ];
  const { add, del } = addDel(subjects);
  const node = bareNode(RUNS);
  const vsRef = (row: string[]) => [row[0]!, row[1]!, '', row[2]!, row[3]!];
  table(
    `vxlan ADD/DEL, sequential (median of ${RUNS} after ${WARM} warm-up, interleaved; each in its own host netns)`,
    ['what', 'vxlan', 'bridge-route', 'reference bridge', 'vxlan / reference'],
    [
      ['ADD', ms(add[0]!), ms(add[1]!), ms(add[2]!), `${(add[0]! / add[2]!).toFixed(2)}×`],
      ['DEL', ms(del[0]!), ms(del[1]!), ms(del[2]!), `${(del[0]! / del[2]!).toFixed(2)}×`],
      vsRef(overNodeRow('ADD, vxlan minus a bare Node start', add[0]!, node, add[2]!)),
      ['bare Node start (`node22 -e 0`)', ms(node), '', '', ''],
    ],
  );
}

/** ADD with 1, 100 and 1000 peers in a peersFile: converged by the first ADD, then flat. */
async function peerScaling(lab: Lab, dir: string): Promise<void> {
  const counts = [1, 100, 1000];
  const subjects: Subject[] = [];
  for (const n of counts) {
    const peersFile = join(dir, `peers-${n}.json`);
    const peers = Array.from({ length: n }, (_, i) => ({
      name: `p${i}`,
      nodeIP: `10.${100 + (i >> 8)}.${i & 255}.1`,
      podCIDR: `10.${200 + (i >> 8)}.${i & 255}.0/24`,
    }));
    writeFileSync(peersFile, JSON.stringify(peers));
    subjects.push(
      await subject(
        lab,
        `vx${n}`,
        `${BIN}/vxlan`,
        { ...common(dir, `vx${n}`), type: 'vxlan', peersFile },
        RUNS,
      ),
    );
  }
  const { add } = addDel(subjects);
  table(
    `vxlan ADD with N peers (median of ${RUNS}; the first ADD converged the peers' entries)`,
    ['peers', 'ADD', 'vs 1 peer', 'goal', 'met'],
    counts.map((n, k) => {
      const r = add[k]! / add[0]!;
      return [String(n), ms(add[k]!), `${r.toFixed(2)}×`, '≤ 1.2×', r <= 1.2 ? 'yes' : 'NO'];
    }),
  );
}

/** Two routed hosts with a pod each, joined by vxlan: the plugin, or the same shape by hand. */
async function throughput(t: T): Promise<void> {
  const plugin = async (name: string, conf: Record<string, unknown> = {}): Promise<Pair> => {
    const c = await Cluster.create(t, { plugin: 'vxlan', underlay: 'routed', cniPath: BIN, conf });
    const a = await c.addPod(c.hosts[0]!, 'a');
    const b = await c.addPod(c.hosts[1]!, 'b');
    return { name, server: b, client: a, addr: b.ip };
  };
  const pairs = [
    await plugin('vxlan plugin (routed, ipMasq, clusterCIDR)'),
    await byHand(t),
    // Without ipMasq there is no NAT hook, hence no conntrack: the data path alone.
    await plugin('vxlan plugin, ipMasq false (no nat hook, no conntrack)', { ipMasq: false }),
  ];
  await compareThroughput(
    `vxlan, pod to pod across two routed hosts: iperf3 TCP, ${IPERF_PAIRS} runs each, alternated (Gbit/s)`,
    pairs,
    IPERF_PAIRS,
  );
}

/** The same topology with `ip` only: bridge, veth, vxlan device with static entries, MTU 1450. */
async function byHand(t: T): Promise<Pair> {
  const lab = await Lab.create(t);
  const hosts = [await lab.routedHost('h1'), await lab.routedHost('h2')];
  const pods: Netns[] = [];
  const mac = (n: number) => `02:00:00:00:00:0${n}`;
  for (const [i, host] of hosts.entries()) {
    const n = i + 1;
    const other = hosts[1 - i]!;
    const pod = await lab.container(`p${n}`);
    const h = (args: string[]) => ip(args, host.name);
    await h(['link', 'add', 'cni0', 'mtu', '1450', 'type', 'bridge']);
    await h(['addr', 'add', `10.244.${n}.1/24`, 'dev', 'cni0']);
    await h(['link', 'set', 'cni0', 'up']);
    await h([
      'link',
      'add',
      'veth0',
      'mtu',
      '1450',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'mtu',
      '1450',
      'netns',
      pod.name,
    ]);
    await h(['link', 'set', 'veth0', 'master', 'cni0', 'up']);
    await h([
      'link',
      'add',
      'vx0',
      'address',
      mac(n),
      'type',
      'vxlan',
      'id',
      '1',
      'local',
      host.ip,
      'dstport',
      '4789',
      'nolearning',
      'dev',
      'eth0',
    ]);
    await h(['addr', 'add', `10.244.${n}.0/32`, 'dev', 'vx0']);
    await h(['link', 'set', 'vx0', 'up']);
    await h(['neigh', 'add', `10.244.${2 - i}.0`, 'lladdr', mac(2 - i), 'dev', 'vx0', 'nud', 'permanent']);
    spawnSync('ip', [
      'netns',
      'exec',
      host.name,
      'bridge',
      'fdb',
      'append',
      mac(2 - i),
      'dev',
      'vx0',
      'dst',
      other.ip,
    ]);
    await h(['route', 'add', `10.244.${2 - i}.0/24`, 'via', `10.244.${2 - i}.0`, 'dev', 'vx0', 'onlink']);
    await ip(['addr', 'add', `10.244.${n}.2/24`, 'dev', 'eth0'], pod.name);
    await ip(['link', 'set', 'eth0', 'up'], pod.name);
    await ip(['route', 'add', 'default', 'via', `10.244.${n}.1`], pod.name);
    spawnSync('ip', ['netns', 'exec', host.name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    pods.push(pod);
  }
  return {
    name: 'by hand with `ip` (same shape, no firewall)',
    server: pods[1]!,
    client: pods[0]!,
    addr: '10.244.2.2',
  };
}
