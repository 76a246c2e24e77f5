// The fuzz tier's hostile hosts, for every plugin this kernel has (gre and ipvlan-l3: the kernel
// tier): a host netns whose inode a deleted one had, a pod that already holds CNI_IFNAME, and an
// unprivileged process holding every lock name the suite uses. Each must leave the pods working,
// the pod's own interface alone, and the plugins unstalled.
import { execFileSync, spawn } from 'node:child_process';
import t from 'tap';
import { attachmentLock } from '../../lib/plan/attachment.js';
import { lockFile } from '../../lib/sys/lock.js';
import { Cluster, type ClusterHost, leaseFiles } from '../helpers/cluster.js';
import { ip } from '../helpers/lab.js';
import { bin, runChain } from '../helpers/plugin.js';
import type { Tap } from '../helpers/scenario.js';
import { pings } from '../helpers/tcp.js';

/** Each plugin with what its network config needs beyond the cluster's. */
/** `podMtu`: the pod's MTU on a 1500 uplink (VXLAN takes 50 for its header). */
const PLUGINS: {
  plugin: string;
  podMtu: number;
  conf: (c: Cluster, h: ClusterHost) => Record<string, unknown>;
}[] = [
  { plugin: 'bridge-route', podMtu: 1500, conf: (c, h) => c.conf(h, { ipMasq: true, isolation: 'bridge' }) },
  { plugin: 'vxlan', podMtu: 1450, conf: (c, h) => c.conf(h, { ipMasq: true }) },
  {
    plugin: 'macvlan',
    podMtu: 1500,
    conf: (c, h) => c.conf(h, { master: 'eth0', peers: undefined, clusterCIDR: undefined }),
  },
];

const links = async (netns: string) =>
  (JSON.parse(await ip(['-j', 'link', 'show'], netns)) as { ifname: string }[]).map((l) => l.ifname).sort();

for (const { plugin, podMtu, conf } of PLUGINS) {
  t.test(`${plugin}: a host netns with a reused inode is a new host`, async (t) => {
    const c = await Cluster.create(t, { hosts: 1, plugin });
    const [h1] = c.hosts as [ClusterHost];
    await ip(['link', 'set', 'eth0', 'mtu', '9000'], h1.name);
    const a = await c.addPod(h1, 'a', conf(c, h1));
    t.equal((await c.call(h1, 'DEL', a, conf(c, h1))).exitCode, 0, 'ADD and DEL on the first netns');
    t.ok(await c.lab.reuseInode(h1, 1500), 'a new netns got its inode');
    const b = await c.addPod(h1, 'b', conf(c, h1));
    t.match(
      await ip(['link', 'show', 'eth0'], b.name),
      `mtu ${podMtu} `,
      'the pod has the MTU of the new uplink',
    );
    const check = await c.call(h1, 'CHECK', b, { ...conf(c, h1), prevResult: b.result });
    t.equal(check.exitCode, 0, `CHECK passes: every object and chain is there ${check.stdout}`);
    t.equal((await c.call(h1, 'DEL', b, conf(c, h1))).exitCode, 0, 'DEL');
    t.same(leaseFiles(h1), [], 'no lease left');
  });

  t.test(`${plugin}: a pod that holds CNI_IFNAME already`, async (t) => {
    const c = await Cluster.create(t, { hosts: 1, plugin });
    const [h1] = c.hosts as [ClusterHost];
    const pod = await c.lab.container('taken');
    await ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'theirs'], pod.name);
    const before = { host: await links(h1.name), pod: await links(pod.name) };
    const call = { id: `${c.lab.prefix}-taken`, path: pod.path, ifname: 'eth0' };
    const add = await c.call(h1, 'ADD', call, conf(c, h1));
    t.match(
      add.json,
      { code: 4, msg: /CNI_IFNAME "eth0" exists/ },
      `ADD is 4 naming CNI_IFNAME ${add.stdout}`,
    );
    const del = await c.call(h1, 'DEL', call, conf(c, h1));
    t.equal(del.exitCode, 0, 'DEL succeeds');
    t.same({ host: await links(h1.name), pod: await links(pod.name) }, before, 'host and pod as they were');
    t.same(leaseFiles(h1), [], 'no lease left');
    const other = await c.addPod(h1, 'free', conf(c, h1));
    t.ok(other.ip, 'the control: a pod without an eth0 gets one');
  });
}

/** Holds `files` (flock) and binds `names` (abstract sockets) as user nobody until killed. */
function squat(t: Tap, files: string[], names: string[]) {
  const script = [
    'import fcntl, os, socket, sys, time',
    'held = []',
    'for f in sys.argv[1].split("|"):',
    '    try:',
    '        fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o666); fcntl.flock(fd, fcntl.LOCK_EX); held.append(f)',
    '    except OSError: pass',
    'for n in sys.argv[2].split("|"):',
    '    s = socket.socket(socket.AF_UNIX); s.bind("\\0" + n); held.append("@" + n)',
    'print(" ".join(held), flush=True)',
    'time.sleep(600)',
  ].join('\n');
  const child = spawn(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '/usr/bin/python3',
      '-c',
      script,
      files.join('|'),
      names.join('|'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  return new Promise<string>((resolve) =>
    child.stdout.once('data', (b: Buffer) => resolve(b.toString().trim())),
  );
}

t.test('an unprivileged process holding every lock name stalls no call', async (t) => {
  const c = await Cluster.create(t, { hosts: 1 });
  const [h1] = c.hosts as [ClusterHost];
  const pod = await c.lab.container('p');
  const id = `${c.lab.prefix}-p`;
  const att = attachmentLock({ network: 'podnet', containerId: id, ifname: 'eth0' });
  const names = [att, 'portmap'];
  const held = await squat(
    t,
    names.map(lockFile),
    names.map((n) => `cni-suite/${n}`),
  );
  t.notMatch(held, /\/run\/cni-suite/, 'nobody could open any of the lock files');
  t.match(held, `@cni-suite/${att}`, 'the control: nobody holds the abstract names earlier builds used');
  const steps = [
    { file: bin('bridge-route'), conf: c.conf(h1) },
    {
      file: bin('portmap'),
      conf: {
        cniVersion: '1.0.0',
        name: 'podnet',
        type: 'portmap',
        capabilities: { portMappings: true },
        runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
      },
    },
  ];
  const call = { containerId: id, netns: pod.path, ifname: 'eth0', hostNetns: h1.name };
  const started = Date.now();
  const add = await runChain('ADD', steps, call);
  t.notOk(add.failed, `ADD of bridge-route + portmap: ${add.failed?.stdout ?? 'ok'}`);
  t.ok(await pings(pod.name, '10.244.1.1'), 'the pod reaches its gateway');
  const del = await runChain('DEL', steps, call, add.result);
  t.notOk(del.failed, 'DEL');
  t.ok(Date.now() - started < 10_000, `no call waited for the squatter (${Date.now() - started} ms)`);
  t.same(leaseFiles(h1), [], 'no lease left');
  // The host-local lock in the data dir: a root file nobody can open either.
  t.throws(
    () =>
      execFileSync(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          'flock',
          '-n',
          `${h1.dataDir}/podnet/lock`,
          'true',
        ],
        {
          stdio: 'pipe',
        },
      ),
    'nobody cannot take host-local’s lock',
  );
});
