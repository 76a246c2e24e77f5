// The agent's /healthz, /readyz and /metrics on a real etcd: served on 127.0.0.1:9477 in the host's
// netns by default, ready once the node holds its subnet and its files are written and reconciled,
// not ready (503, naming why) while it cannot write its peers file, and metrics that follow peers,
// reconciles, etcd and the lease.
import { mkdirSync, rmSync } from 'node:fs';
import t from 'tap';
import { Agent, agentCommand, agentFiles, Etcd, fileFlags, unitAgentArgs, within } from '../helpers/agent.ts';
import { inNs, Lab } from '../helpers/lab.ts';

/** GET http://<address><path> from inside `netns`: status and body. */
async function get(netns: string, path: string, address = '127.0.0.1:9477') {
  const script =
    'fetch(process.argv[1]).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => console.log(JSON.stringify({ status: 0, body: String(e) })))';
  const r = await inNs(netns, process.execPath, ['-e', script, `http://${address}${path}`]);
  return JSON.parse(r.stdout) as { status: number; body: string };
}

/** `agent init` of the network every test here uses. */
const initNetwork = (etcd: Etcd) =>
  agentCommand(etcd.host.name, [
    'init',
    '--network',
    'podnet',
    '--etcd-endpoints',
    etcd.url,
    '--cluster-cidr',
    '10.244.0.0/16',
    '--plugin',
    'bridge-route',
  ]);

/** A sample's value in Prometheus text, or undefined. */
const sample = (text: string, name: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

t.test('healthz, readyz and metrics follow the agent', async (t) => {
  const lab = await Lab.create(t);
  const etcd = await Etcd.start(t, await lab.host('etcd'));
  const init = await initNetwork(etcd);
  t.equal(init.code, 0, `agent init ${init.stderr}`);
  const [h1, h2] = [await lab.host('h1'), await lab.host('h2')];
  const start = (host: typeof h1, files = agentFiles(t, host.name), extra: string[] = []) => {
    const agent = new Agent(host.name, [
      ...unitAgentArgs(),
      ...['--etcd-endpoints', etcd.url, '--node-name', host.name],
      ...fileFlags(files),
      ...extra,
    ]);
    t.teardown(() => agent.kill('SIGKILL'));
    return { agent, files };
  };
  const a1 = start(h1);
  await a1.agent.waitFor('joined');
  t.same(await get(h1.name, '/healthz'), { status: 200, body: 'ok\n' }, '/healthz answers');
  t.same(await get(h1.name, '/readyz'), { status: 200, body: 'ready\n' }, '/readyz: ready once joined');
  let metrics = (await get(h1.name, '/metrics')).body;
  t.equal(sample(metrics, 'cni_suite_agent_peers'), 0, 'no peer yet');
  t.equal(sample(metrics, 'cni_suite_agent_etcd_up'), 1, 'etcd up');
  t.ok((sample(metrics, 'cni_suite_agent_reconcile_seconds_count') ?? 0) >= 1, 'a reconcile timed');
  t.equal(sample(metrics, 'cni_suite_agent_reconcile_errors_total'), 0, 'none failed');
  const expiry = sample(metrics, 'cni_suite_agent_lease_expiry_seconds') ?? 0;
  t.ok(expiry > 86_000 && expiry <= 86_400, `the lease has about its TTL left (${expiry} s)`);
  t.equal((await get(h2.name, '/healthz')).status, 0, 'the control: nothing answers where no agent runs');

  // The peers file cannot be written (a directory in its place): not ready, and why.
  rmSync(a1.files.peersFile, { force: true });
  mkdirSync(a1.files.peersFile);
  start(h2);
  t.not(
    await within(15_000, async () => (await get(h1.name, '/readyz')).status === 503),
    -1,
    'h1 turns not ready',
  );
  const notReady = await get(h1.name, '/readyz');
  t.match(notReady.body, new RegExp(`not ready: cannot write ${a1.files.peersFile}`), notReady.body.trim());
  rmSync(a1.files.peersFile, { recursive: true });
  t.not(
    await within(20_000, async () => (await get(h1.name, '/readyz')).status === 200),
    -1,
    'and ready again once it can',
  );
  metrics = (await get(h1.name, '/metrics')).body;
  t.equal(sample(metrics, 'cni_suite_agent_peers'), 1, 'the new peer is counted');

  // etcd gone: still ready (pods keep their network), but etcd_up says so.
  await etcd.stop();
  const down = await within(
    90_000,
    async () => sample((await get(h1.name, '/metrics')).body, 'cni_suite_agent_etcd_up') === 0,
    500,
  );
  t.not(down, -1, 'etcd_up turns 0');
  t.equal((await get(h1.name, '/readyz')).status, 200, 'the node stays ready without etcd');
});

t.test('healthAddress: "" serves nothing; another address is used; a bad one is refused', async (t) => {
  const lab = await Lab.create(t, '192.168.101');
  const etcd = await Etcd.start(t, await lab.host('etcd'));
  t.equal((await initNetwork(etcd)).code, 0);
  const [h1, h2] = [await lab.host('h1'), await lab.host('h2')];
  const off = new Agent(h1.name, [
    ...['--network', 'podnet', '--etcd-endpoints', etcd.url, '--node-name', h1.name, '--health-address', ''],
    ...fileFlags(agentFiles(t, h1.name)),
  ]);
  t.teardown(() => off.kill('SIGKILL'));
  await off.waitFor('joined');
  t.equal((await get(h1.name, '/healthz')).status, 0, 'off: nothing listens on 9477');
  const other = new Agent(h2.name, [
    ...[
      '--network',
      'podnet',
      '--etcd-endpoints',
      etcd.url,
      '--node-name',
      h2.name,
      '--health-address',
      '127.0.0.1:9999',
    ],
    ...fileFlags(agentFiles(t, h2.name)),
  ]);
  t.teardown(() => other.kill('SIGKILL'));
  await other.waitFor('joined');
  t.equal((await get(h2.name, '/healthz', '127.0.0.1:9999')).status, 200, 'on the address given');
  const bad = await agentCommand(h2.name, ['--network', 'podnet', '--health-address', 'nine'], 10_000);
  t.not(bad.code, 0, 'a bad address fails');
  t.match(bad.stderr, /healthAddress \(--health-address\) \\?"nine\\?" must be host:port/, bad.stderr.trim());
});
