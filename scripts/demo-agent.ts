// npm run demo -- agent: a real etcd and three hosts, each running `cni-suite agent` (no subnet or
// peer written by hand); pods from the conflists the agents wrote ping across hosts; a fourth host
// joins and the others route to it at once.
import { readFileSync } from 'node:fs';
import {
  Agent,
  agentCommand,
  agentFiles,
  conflistPod,
  Etcd,
  fileFlags,
  peerRoutes,
  within,
} from '../test/helpers/agent.ts';
import { Lab } from '../test/helpers/lab.ts';
import { pings } from '../test/helpers/tcp.ts';

type Teardown = () => unknown;

export async function demoAgent(say: (s: string) => void, cleanups: Teardown[]): Promise<boolean> {
  const t = { teardown: (fn: Teardown) => void cleanups.push(fn) };
  const lab = await Lab.create(t);
  const etcd = await Etcd.start(t, await lab.host('etcd'));
  say(`== etcd at ${etcd.url}; once per cluster: cni-suite agent init`);
  const init = await agentCommand(etcd.host.name, [
    ...['init', '--network', 'podnet', '--etcd-endpoints', etcd.url],
    ...['--cluster-cidr', '10.244.0.0/16', '--plugin', 'bridge-route'],
  ]);
  say(`   ${init.stdout.trim() || init.stderr.trim()}`);

  const join = async (name: string) => {
    const host = await lab.host(name);
    const files = agentFiles(t, name);
    const agent = new Agent(host.name, [
      ...['--network', 'podnet', '--etcd-endpoints', etcd.url, '--node-name', name],
      ...fileFlags(files),
    ]);
    t.teardown(() => agent.kill('SIGTERM'));
    const joined = await agent.waitFor('joined');
    say(`   ${name} (${host.ip}) joined: pod subnet ${joined.podCIDR}, conflist written`);
    return { host, files, agent, podCIDR: joined.podCIDR as string };
  };
  say('\n== three hosts start their agents together');
  const nodes = await Promise.all(['node1', 'node2', 'node3'].map(join));
  await within(5000, async () =>
    (await Promise.all(nodes.map((n) => peerRoutes(n.host)))).every((r) => r.length === 2),
  );
  for (const n of nodes)
    say(`   ${n.host.name.split('-').pop()} routes: ${(await peerRoutes(n.host)).join('; ')}`);
  const first = nodes[0]!;
  say(`   node1's peers file: ${readFileSync(first.files.peersFile, 'utf8').replace(/\s+/g, ' ')}`);

  say('\n== a pod on each host, from the conflist its agent wrote');
  const pods = [];
  for (const [i, n] of nodes.entries()) {
    const ip = await conflistPod(lab, n.host.name, n.files.conflist, `pod${i + 1}`);
    pods.push({ ns: `${lab.prefix}-pod${i + 1}`, ip });
    say(`   pod${i + 1} on node${i + 1}: ${ip}`);
  }
  let ok = true;
  for (const [a, b] of [
    [0, 1],
    [1, 2],
    [2, 0],
  ] as const) {
    const pinged = await pings(pods[a]!.ns, pods[b]!.ip, 3);
    ok &&= pinged;
    say(`   ping pod${a + 1} → pod${b + 1} (${pods[b]!.ip}): ${pinged ? 'ok' : 'FAILED'}`);
  }

  say('\n== a fourth host joins; no pod is added anywhere else');
  const started = Date.now();
  const n4 = await join('node4');
  const route = `${n4.podCIDR} via ${n4.host.ip}`;
  const took = await within(5000, async () => {
    for (const n of nodes) if (!(await peerRoutes(n.host)).includes(route)) return false;
    return true;
  });
  ok &&= took >= 0;
  say(`   node1–3 route to ${route}, ${Date.now() - started} ms after its agent started`);
  const pod4 = await conflistPod(lab, n4.host.name, n4.files.conflist, 'pod4');
  const pinged = await pings(`${lab.prefix}-pod4`, pods[0]!.ip, 3);
  ok &&= pinged;
  say(`   ping pod4 (${pod4}) → pod1 (${pods[0]!.ip}): ${pinged ? 'ok' : 'FAILED'}`);
  return ok;
}
