// cni-suite agent against a real etcd: hosts are netns on the lab's underlay, each running the
// built executable's agent as the example unit does, from conf-examples/agent.json (endpoint and
// paths given as flags);
// pods are attached with the conflists the agents write, and ping across hosts.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import {
  AGENT_EXAMPLE,
  Agent,
  type AgentFiles,
  agentCommand,
  agentFiles,
  type Conflist,
  conflistPod,
  Etcd,
  fileFlags,
  type LogLine,
  peerRoutes,
  readJson,
  sleep,
  unitAgentArgs,
  within,
} from '../helpers/agent.ts';
import { type Host, ip, Lab } from '../helpers/lab.ts';
import { pings } from '../helpers/tcp.ts';

interface Node extends Host {
  files: AgentFiles;
  agent: Agent;
  podCIDR: string;
}

const conflistOf = (n: Node) => readJson(n.files.conflist) as Conflist;
const peerNames = (n: Node) => (readJson(n.files.peersFile) as { name: string }[]).map((p) => p.name).sort();

async function startNode(
  t: { teardown(fn: () => unknown): void },
  host: Host,
  etcd: Etcd,
  extra: string[] = [],
  files = agentFiles(t, host.name),
): Promise<Node> {
  // The example unit's command line, with the endpoint and this host's paths as flags.
  const agent = new Agent(host.name, [
    ...unitAgentArgs(),
    ...['--etcd-endpoints', etcd.url, '--node-name', host.name],
    ...fileFlags(files),
    ...extra,
  ]);
  t.teardown(() => agent.kill('SIGKILL'));
  const joined = await agent.waitFor('joined');
  return { ...host, files, agent, podCIDR: joined.podCIDR as string };
}

/** A pod on `n`, attached through the conflist its agent wrote, as a runtime would. */
const addPod = (lab: Lab, n: Node, name: string) => conflistPod(lab, n.name, n.files.conflist, name);

async function init(etcd: Etcd, args: string[]) {
  return agentCommand(etcd.host.name, ['init', '--network', 'podnet', '--etcd-endpoints', etcd.url, ...args]);
}

t.test('three hosts join at once, pods ping across them; a fourth joins and leaves', async (t) => {
  const lab = await Lab.create(t);
  const etcd = await Etcd.start(t, await lab.host('etcd'));
  const made = await init(etcd, ['--cluster-cidr', '10.244.0.0/16', '--plugin', 'bridge-route']);
  t.equal(made.code, 0, `agent init succeeds: ${made.stderr}`);
  t.match(made.stdout, /written/, 'init wrote the network config');
  const again = await init(etcd, ['--cluster-cidr', '10.244.0.0/16', '--plugin', 'bridge-route']);
  t.match(again.stdout, /unchanged/, 'the same init again changes nothing');
  const other = await init(etcd, ['--cluster-cidr', '10.245.0.0/16']);
  t.equal(other.code, 1, 'a different config is refused');
  t.match(
    other.stderr,
    /already holds a different network config.*--force/,
    'and the error says how to replace it',
  );

  const hosts = await Promise.all(['h1', 'h2', 'h3'].map((n) => lab.host(n)));
  const nodes = await Promise.all(hosts.map((h) => startNode(t, h, etcd)));
  const [n1, n2, n3] = nodes as [Node, Node, Node];
  t.equal(new Set(nodes.map((n) => n.podCIDR)).size, 3, `distinct subnets: ${nodes.map((n) => n.podCIDR)}`);
  for (const n of nodes)
    t.match(n.podCIDR, /^10\.244\.\d+\.0\/24$/, `${n.name}'s subnet is a /24 of the clusterCIDR`);
  const listed = await within(5000, () =>
    nodes.every(
      (n) =>
        peerNames(n).join() ===
        nodes
          .filter((o) => o !== n)
          .map((o) => o.name)
          .sort()
          .join(),
    ),
  );
  t.ok(listed >= 0, `every peersFile lists the other two within 5 s (${listed} ms)`);
  for (const n of nodes) {
    const list = conflistOf(n);
    t.same(
      (list.plugins[0]?.ipam as { ranges: unknown } | undefined)?.ranges,
      [[{ subnet: n.podCIDR }]],
      `${n.name}'s conflist gives out its own subnet`,
    );
    t.equal(list.plugins[0]?.peersFile, n.files.peersFile, `${n.name}'s conflist reads its peersFile`);
  }
  t.ok(
    n1.agent.lines.some((l) => l.msg === 'peer added'),
    'the log says when a peer is added',
  );
  t.ok(
    n1.agent.lines.some((l) => l.msg === 'reconciled' && typeof l.ms === 'number'),
    'and how long reconciling took',
  );

  const a = await addPod(lab, n1, 'a');
  const b = await addPod(lab, n2, 'b');
  const c = await addPod(lab, n3, 'c');
  t.ok(await pings(`${lab.prefix}-a`, b, 3), `pod a (${n1.name}) pings pod b (${n2.name})`);
  t.ok(await pings(`${lab.prefix}-b`, c, 3), 'pod b pings pod c');
  t.ok(await pings(`${lab.prefix}-c`, a, 3), 'pod c pings pod a');

  // A fourth host: the others route to it with no pod ADD on them.
  const h4 = await lab.host('h4');
  const started = Date.now();
  const n4 = await startNode(t, h4, etcd);
  const route4 = `${n4.podCIDR} via ${h4.ip}`;
  const seen = await within(5000, async () => {
    for (const n of nodes) if (!(await peerRoutes(n)).includes(route4)) return false;
    return true;
  });
  t.ok(seen >= 0, `h1–h3 route to h4's subnet within 5 s of its agent starting (${Date.now() - started} ms)`);
  await addPod(lab, n4, 'd');
  t.ok(
    await pings(`${lab.prefix}-d`, a, 3),
    'a pod on the new host pings pod a, whose host had no ADD since',
  );

  const left = await agentCommand(h4.name, [
    ...['leave', '--config', AGENT_EXAMPLE, '--etcd-endpoints', etcd.url, '--node-name', h4.name],
    ...fileFlags(n4.files),
  ]);
  t.equal(left.code, 0, `agent leave succeeds: ${left.stderr}`);
  t.match(
    left.stdout,
    new RegExp(`released .*${n4.podCIDR.replace('/', '-')}`),
    'and names the subnet it released',
  );
  t.equal(await n4.agent.exited, 0, 'the running agent sees its claim go and exits 0');
  t.notOk(existsSync(n4.files.conflist), 'its conflist is gone: no new pod gets an address from that subnet');
  const gone = await within(5000, async () => {
    for (const n of nodes) if ((await peerRoutes(n)).includes(route4)) return false;
    return nodes.every((n) => !peerNames(n).includes(h4.name));
  });
  t.ok(gone >= 0, `h1–h3 drop h4's route and peer entry within 5 s (${gone} ms)`);
  t.ok(await pings(`${lab.prefix}-a`, b, 2), 'pods on the remaining hosts still ping each other');

  // etcd away for 10 s: nothing is removed meanwhile; a host joining after is seen by all.
  const before = await Promise.all(nodes.map(peerRoutes));
  t.equal(before[0]?.length, 2, `positive control: h1 routes to two peers (${before[0]})`);
  await etcd.stop();
  let flapped = '';
  const outageEnd = Date.now() + 10_000;
  while (Date.now() < outageEnd) {
    const now = await Promise.all(nodes.map(peerRoutes));
    if (JSON.stringify(now) !== JSON.stringify(before)) flapped = JSON.stringify(now);
    await sleep(500);
  }
  t.equal(flapped, '', 'no route changed while etcd was down');
  t.ok(await pings(`${lab.prefix}-a`, c, 2), 'pods kept talking during the outage');
  t.ok(
    nodes.some((n) => n.agent.lines.some((l) => l.msg === 'etcd unreachable')),
    'an agent logged that etcd is unreachable',
  );
  await etcd.resume();
  const h5 = await lab.host('h5');
  const n5 = await startNode(t, h5, etcd);
  const route5 = `${n5.podCIDR} via ${h5.ip}`;
  const seen5 = await within(10_000, async () => {
    for (const n of nodes) if (!(await peerRoutes(n)).includes(route5)) return false;
    return true;
  });
  t.ok(seen5 >= 0, `after etcd's return, a new host is routed to by all within 10 s (${seen5} ms)`);
  const lost = nodes.filter((n) => n.agent.lines.some((l) => l.msg === 'etcd unreachable'));
  const back = await within(10_000, () =>
    lost.every((n) => n.agent.lines.some((l) => l.msg === 'etcd back')),
  );
  t.ok(back >= 0, 'every agent that lost etcd logs that it is back');

  // kill -9 and restart: the same subnet, no route flap on the others.
  const h2Route = `${n2.podCIDR} via ${n2.ip}`;
  t.equal(await n2.agent.kill('SIGKILL'), null, 'h2 agent killed with -9');
  const n2b = await startNode(t, n2, etcd, [], n2.files);
  t.equal(n2b.podCIDR, n2.podCIDR, 'restarted, it claims the same subnet');
  t.ok((await peerRoutes(n1)).includes(h2Route), "h1's route to h2 stayed");
  t.ok(await pings(`${lab.prefix}-a`, b, 2), 'pod a still pings pod b');

  // SIGTERM: a clean exit, the data plane stays.
  const routesH3 = await peerRoutes(n3);
  t.equal(await n3.agent.kill('SIGTERM'), 0, 'SIGTERM: the agent exits 0');
  t.same(await peerRoutes(n3), routesH3, 'and leaves its routes as they were');
  t.ok(await pings(`${lab.prefix}-c`, a, 2), 'pod c still pings pod a');
});

t.test('vxlan: the agents join routed hosts by FDB and neighbour entries', async (t) => {
  const lab = await Lab.create(t);
  const etcd = await Etcd.start(t, await lab.routedHost('etcd'));
  const made = await init(etcd, [
    ...['--cluster-cidr', '10.246.0.0/16', '--plugin', 'vxlan'],
    ...['--plugin-options', '{"vni": 42, "mode": "routed", "bridge": "cni0"}'],
  ]);
  t.equal(made.code, 0, `init with vxlan: ${made.stderr}`);
  const [n1, n2] = (await Promise.all(
    ['v1', 'v2'].map(async (n) => startNode(t, await lab.routedHost(n), etcd)),
  )) as [Node, Node];
  const a = await addPod(lab, n1, 'va');
  const b = await addPod(lab, n2, 'vb');
  t.ok(await pings(`${lab.prefix}-va`, b, 3), "pods on two routed hosts ping over the agents' vxlan");
  const v3 = await lab.routedHost('v3');
  const n3 = await startNode(t, v3, etcd);
  const fdb = await within(5000, async () => {
    const r = await ip(['-j', 'route', 'show', 'proto', '202'], n1.name);
    return r.includes(n3.podCIDR.split('/')[0]!);
  });
  t.ok(fdb >= 0, `v1 routes to v3's subnet over vxlan within 5 s, with no pod on v3 (${fdb} ms)`);
  await addPod(lab, n3, 'vc');
  t.ok(await pings(`${lab.prefix}-vc`, a, 3), "v3's pod pings v1's");
});

t.test('20 agents race for 16 subnets: 16 distinct claims and 4 clear errors', async (t) => {
  const lab = await Lab.create(t);
  const etcd = await Etcd.start(t, await lab.host('etcd'));
  const made = await init(etcd, ['--network', 'race', '--cluster-cidr', '10.250.0.0/20', '--no-portmap']);
  t.equal(made.code, 0, `init: ${made.stderr}`);
  const hosts = [];
  for (let i = 0; i < 20; i++) hosts.push(await lab.host(`r${i}`));
  const agents = hosts.map((host) => {
    const agent = new Agent(host.name, [
      ...['--network', 'race', '--etcd-endpoints', etcd.url, '--node-name', host.name],
      ...fileFlags(agentFiles(t, host.name)),
    ]);
    t.teardown(() => agent.kill('SIGKILL'));
    return agent;
  });
  const outcomes = await Promise.all(
    agents.map((a) =>
      Promise.race([
        a.waitFor('joined', 60_000).then((l) => l.podCIDR as string),
        a.exited.then((code) => ({ code, stderr: a.stderr })),
      ]),
    ),
  );
  const claims = outcomes.filter((o): o is string => typeof o === 'string');
  const errors = outcomes.filter((o) => typeof o !== 'string') as { code: number; stderr: string }[];
  t.equal(claims.length, 16, '16 agents claimed a subnet');
  t.equal(new Set(claims).size, 16, 'all 16 distinct');
  t.equal(errors.length, 4, '4 agents failed');
  for (const e of errors) {
    t.equal(e.code, 1, 'with exit status 1');
    t.match(
      e.stderr,
      /clusterCIDR 10\.250\.0\.0\/20 is exhausted: all 16 subnets of \/24/,
      'naming the clusterCIDR',
    );
  }
  const keys = await etcd.keys('/cni-suite/race/subnets/');
  t.equal(keys.length, 16, 'etcd holds 16 claims');
});

t.test('a lease that expires frees the subnet, and the peers drop it', async (t) => {
  const lab = await Lab.create(t);
  const etcd = await Etcd.start(t, await lab.host('etcd'));
  await init(etcd, ['--cluster-cidr', '10.247.0.0/16']);
  const n1 = await startNode(t, await lab.host('e1'), etcd);
  const n2 = await startNode(t, await lab.host('e2'), etcd, ['--lease-ttl', '3']);
  const route2 = `${n2.podCIDR} via ${n2.ip}`;
  t.ok((await within(5000, async () => (await peerRoutes(n1)).includes(route2))) >= 0, 'e1 routes to e2');
  t.equal(await n2.agent.kill('SIGTERM'), 0, 'e2 agent stopped');
  t.ok((await peerRoutes(n1)).includes(route2), 'right after, e1 still routes to e2 (its lease runs on)');
  const dropped = await within(15_000, async () => !(await peerRoutes(n1)).includes(route2));
  t.ok(dropped >= 0, `after the 3 s TTL, e1 dropped the route (${dropped} ms)`);
  t.notOk(peerNames(n1).includes(n2.name), 'and the peer entry');
  const keys = await etcd.keys('/cni-suite/podnet/subnets/');
  t.same(keys, [`/cni-suite/podnet/subnets/${n1.podCIDR.replace('/', '-')}`], 'only e1 holds a subnet now');
  t.ok(
    n1.agent.lines.some((l) => l.msg === 'peer removed' && l.peer === n2.name),
    'e1 logged the peer removed',
  );
});

t.test('bad agent config: a clear error naming the field, non-zero exit, nothing written', async (t) => {
  const lab = await Lab.create(t);
  const etcd = await Etcd.start(t, await lab.host('etcd'));
  const host = await lab.host('b1');
  const files = agentFiles(t, 'bad');
  // A failed run's stderr is JSON log lines: match the error line's message.
  const run = async (args: string[]) => {
    const r = await agentCommand(host.name, [...args, ...fileFlags(files)]);
    const errors = r.stderr.split('\n').flatMap((l) => {
      try {
        const line = JSON.parse(l) as LogLine;
        return line.level === 'error' ? [line.msg] : [];
      } catch {
        return [];
      }
    });
    return { ...r, stderr: errors.join('\n') };
  };

  const unreachable = await run([
    '--network',
    'podnet',
    '--etcd-endpoints',
    'http://192.168.100.99:2379',
    '--etcd-timeout',
    '2',
  ]);
  t.equal(unreachable.code, 1, 'an unreachable endpoint: exit 1');
  t.match(
    unreachable.stderr,
    /^etcdEndpoints \(--etcd-endpoints\) http:\/\/192\.168\.100\.99:2379: etcd cannot be reached/,
    'naming etcdEndpoints, as a JSON log line',
  );
  const noConfig = await run(['--network', 'podnet', '--etcd-endpoints', etcd.url]);
  t.match(
    noConfig.stderr,
    /no network config at \/cni-suite\/podnet\/config: run "cni-suite agent init"/,
    'no config in etcd yet: says to run init',
  );

  for (const [args, field] of [
    [['--cluster-cidr', '10.244.0.0/33'], /clusterCIDR "10\.244\.0\.0\/33" is not a CIDR/],
    [['--cluster-cidr', '10.244.1.0/16'], /clusterCIDR "10\.244\.1\.0\/16" has host bits set/],
    [['--cluster-cidr', 'fd00::/48'], /clusterCIDR "fd00::\/48" must be IPv4/],
    [
      ['--cluster-cidr', '10.244.0.0/24', '--subnet-len', '16'],
      /subnetLen 16 is shorter than clusterCIDR 10\.244\.0\.0\/24's \/24/,
    ],
    [['--cluster-cidr', '10.244.0.0/16', '--subnet-len', '31'], /subnetLen must be an integer of at most 30/],
    [
      ['--cluster-cidr', '10.244.0.0/16', '--plugin', 'macvlan'],
      /plugin\.type must be one of bridge-route, vxlan, gre, ipvlan-l3/,
    ],
    [
      ['--cluster-cidr', '10.244.0.0/16', '--plugin-options', '{"peersFile": "/x"}'],
      /plugin\.peersFile: the agent sets this itself/,
    ],
  ] as [string[], RegExp][]) {
    const r = await init(etcd, args);
    t.equal(r.code, 1, `init ${args.join(' ')}: exit 1`);
    t.match(r.stderr, field, 'naming the field');
  }
  t.equal(await etcd.get('/cni-suite/podnet/config'), undefined, 'nothing was written to etcd');
  const good = await init(etcd, ['--cluster-cidr', '10.244.0.0/16']);
  t.equal(good.code, 0, 'positive control: a good init is written');

  for (const [args, field] of [
    [['--etcd-endpoints', etcd.url], /network \(--network\) is required/],
    [
      ['--network', 'podnet', '--etcd-endpoints', 'etcd:2379'],
      /etcdEndpoints \(--etcd-endpoints\): "etcd:2379" is not an http\(s\):\/\/host:port URL/,
    ],
    [
      ['--network', 'podnet', '--etcd-endpoints', etcd.url, '--lease-ttl', 'soon'],
      /leaseTTL \(--lease-ttl\) must be a whole number/,
    ],
    [
      ['--network', 'podnet', '--etcd-endpoints', etcd.url, '--node-ip', '10.0.0.300'],
      /nodeIP \(--node-ip\) "10\.0\.0\.300" is not an IP address/,
    ],
    [
      ['--network', 'podnet', '--etcd-endpoints', etcd.url, '--etcd-cert', '/c.pem'],
      /etcdCert \(--etcd-cert\) and etcdKey \(--etcd-key\) go together/,
    ],
    [['--network', 'podnet', '--etcd-endpoints', etcd.url, '--bogus'], /Unknown option '--bogus'/],
  ] as [string[], RegExp][]) {
    const r = await run(args);
    t.equal(r.code, 1, `agent ${args.join(' ')}: exit 1`);
    t.match(r.stderr, field, 'naming the field');
  }
  t.notOk(existsSync(files.conflist), 'no conflist was written by any of them');
  const help = await agentCommand(host.name, ['--help']);
  t.equal(help.code, 0, 'agent --help: exit 0');
  t.match(help.stdout, /cni-suite agent init --network NAME --cluster-cidr CIDR/, 'with the agent commands');
  const ok = new Agent(host.name, ['--network', 'podnet', '--etcd-endpoints', etcd.url, ...fileFlags(files)]);
  t.teardown(() => ok.kill('SIGKILL'));
  await ok.waitFor('joined');
  t.ok(existsSync(files.conflist), 'positive control: the same host with a good config writes its conflist');
  t.match(readFileSync(files.conflist, 'utf8'), /"subnet": "10\.244\.\d+\.0\/24"/, 'with its subnet');
});

t.test('etcd over TLS with client certificates, and with user/password authentication', async (t) => {
  const lab = await Lab.create(t);
  const tls = await Etcd.start(t, await lab.host('etcd'), { tls: true });
  const pki = tls.pki!;
  const certs = ['--etcd-ca', pki.ca, '--etcd-cert', pki.clientCert, '--etcd-key', pki.clientKey];
  const made = await init(tls, ['--cluster-cidr', '10.248.0.0/16', ...certs]);
  t.equal(made.code, 0, `init over TLS: ${made.stderr}`);
  const host = await lab.host('s1');
  const n1 = await startNode(t, host, tls, certs);
  t.match(n1.podCIDR, /^10\.248\.\d+\.0\/24$/, 'an agent with the CA and a client certificate joins');
  const noCert = await agentCommand(host.name, [
    ...['--network', 'podnet', '--etcd-endpoints', tls.url, '--etcd-ca', pki.ca, '--etcd-timeout', '2'],
    ...fileFlags(agentFiles(t, 'nocert')),
  ]);
  t.equal(noCert.code, 1, 'without a client certificate: exit 1');
  t.match(
    noCert.stderr,
    /etcdEndpoints \(--etcd-endpoints\) https:.*etcd cannot be reached \(over TLS with etcdCA\)/,
    'naming the endpoint and TLS',
  );
  const badCa = await agentCommand(host.name, [
    ...['--network', 'podnet', '--etcd-endpoints', tls.url, '--etcd-ca', '/nonexistent/ca.pem'],
    ...fileFlags(agentFiles(t, 'badca')),
  ]);
  t.match(
    badCa.stderr,
    /etcdCA \\"\/nonexistent\/ca\.pem\\" cannot be read: ENOENT/,
    'an unreadable CA file is named',
  );

  const lab2 = await Lab.create(t, '192.168.101');
  const auth = await Etcd.start(t, await lab2.host('etcd'));
  await auth.enableAuth('s3cret');
  const login = ['--etcd-username', 'root', '--etcd-password', 's3cret'];
  t.equal(
    (await init(auth, ['--cluster-cidr', '10.249.0.0/16', ...login])).code,
    0,
    'init with a user and password',
  );
  const a1 = await lab2.host('a1');
  const n2 = await startNode(t, a1, auth, login);
  t.match(n2.podCIDR, /^10\.249\./, 'an agent with the user and password joins');
  const wrong = await agentCommand(a1.name, [
    ...[
      '--network',
      'podnet',
      '--etcd-endpoints',
      auth.url,
      '--etcd-username',
      'root',
      '--etcd-password',
      'nope',
    ],
    ...fileFlags(agentFiles(t, 'wrongpw')),
  ]);
  t.equal(wrong.code, 1, 'a wrong password: exit 1');
  t.match(
    wrong.stderr,
    /etcdUsername\/etcdPassword \(--etcd-username\/--etcd-password\): etcd refused them/,
    'naming the credentials',
  );
});
