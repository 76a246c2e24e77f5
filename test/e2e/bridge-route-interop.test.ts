// Interop with the Go reference plugins: their host-local as our IPAM, and their portmap and
// tuning chained after bridge-route in one conflist, as a runtime would run it.
import t from 'tap';
import { Cluster, type ClusterHost } from '../helpers/cluster.js';
import { inNs, ip } from '../helpers/lab.js';
import { bin, runChain } from '../helpers/plugin.js';
import { tcpSend, tcpServer } from '../helpers/tcp.js';

const REF = '/usr/lib/cni';

t.test('reference host-local as IPAM; reference portmap and tuning chained after', async (t) => {
  const c = await Cluster.create(t, { cniPath: REF });
  const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
  const b1 = await c.addPod(h2, 'b1');
  const ns = await c.lab.container('a1');
  const base = { cniVersion: '1.0.0', name: 'podnet' };
  const steps = [
    { file: bin('bridge-route'), conf: c.conf(h1) },
    {
      file: `${REF}/portmap`,
      conf: {
        ...base,
        type: 'portmap',
        capabilities: { portMappings: true },
        runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
      },
    },
    {
      file: `${REF}/tuning`,
      conf: { ...base, type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.accept_redirects': '0' } },
    },
  ];
  const call = { containerId: 'interop-a1', netns: ns.path, ifname: 'eth0', hostNetns: h1.name, path: REF };
  const add = await runChain('ADD', steps, call);
  t.notOk(add.failed, `the chain's ADD succeeds ${add.failed?.stdout ?? ''}`);
  const ips = (add.result?.ips ?? []) as { address: string }[];
  const a1 = ips[0]!.address.split('/')[0]!;
  t.match(a1, /^10\.244\.1\./, 'address from the reference host-local');

  await tcpServer(ns.name, 80);
  const viaPortmap = await tcpSend(c.outside.name, h1.ip, 8080, 5000);
  t.same(
    viaPortmap,
    { from: '192.168.100.1', bytes: 5000 },
    'portmap: outside → h1:8080 reaches the pod, which sees the client',
  );
  t.equal(
    (await inNs(ns.name, 'sysctl', ['-n', 'net.ipv4.conf.eth0.accept_redirects'])).stdout,
    '0',
    'tuning applied its sysctl',
  );
  await tcpServer(b1.name, 7000);
  t.same(
    await tcpSend(ns.name, b1.ip, 7000, 10),
    { from: a1, bytes: 10 },
    'the chained pod reaches a pod on h2',
  );

  // The reference portmap 1.1.1 fails its own CHECK whenever ip6tables exists (it looks for an IPv6
  // chain it never made; the same happens after the reference bridge), so CHECK skips it.
  const check = await runChain('CHECK', [steps[0]!, steps[2]!], call, add.result);
  t.notOk(check.failed, `CHECK through the chain ${check.failed?.stdout ?? ''}`);
  const del = await runChain('DEL', steps, call, add.result);
  t.notOk(del.failed, `DEL through the chain ${del.failed?.stdout ?? ''}`);
  t.equal(
    (await ip(['-j', 'link', 'show', 'type', 'veth'], h1.name)).includes('"vb'),
    false,
    'no pod veth left',
  );
});
