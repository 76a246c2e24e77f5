// npm run demo: two simulated hosts (network namespaces on an underlay), two pods per host
// attached by the built bridge-route, then cross-host ping and TCP, and teardown.
// npm run demo -- vxlan: the same with vxlan, the hosts on different subnets behind a router.
// npm run demo -- agent: hosts given their subnets and peers by `cni-suite agent` on etcd.
import { execa } from 'execa';
import { Cluster, type ClusterHost, type Pod } from '../test/helpers/cluster.ts';
import { OUTSIDE_IP } from '../test/helpers/lab.ts';
import { tcpSend, tcpServer } from '../test/helpers/tcp.ts';

const cleanups: (() => unknown)[] = [];
const say = (s: string) => console.log(s);

async function ping(from: Pod, to: string): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', from.name, 'ping', '-c3', '-i0.2', '-W1', to], {
    reject: false,
  });
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1];
  return r.exitCode === 0 ? `ok, avg ${rtt} ms` : 'FAILED';
}

async function main(): Promise<boolean> {
  if (process.argv[2] === 'agent') return (await import('./demo-agent.ts')).demoAgent(say, cleanups);
  const vxlan = process.argv[2] === 'vxlan';
  const c = await Cluster.create(
    { teardown: (fn) => cleanups.push(fn) },
    vxlan ? { plugin: 'vxlan', underlay: 'routed', hosts: 2 } : {},
  );
  if (vxlan) say('== vxlan: two hosts on different subnets behind a router (no shared L2), two pods each');
  else say('== bridge-route: two hosts, two pods each');
  for (const h of c.hosts) say(`host ${h.name.split('-').pop()}  node IP ${h.ip}  pod subnet ${h.podCIDR}`);
  const pods: Pod[] = [];
  for (const h of c.hosts as ClusterHost[]) {
    for (const n of [1, 2]) {
      const pod = await c.addPod(h, `${h.name.split('-').pop()}-pod${n}`);
      pods.push(pod);
      say(`  pod ${pod.name.split('-').slice(-2).join('-')}: ${pod.ip} on ${h.name.split('-').pop()}`);
    }
  }
  const [a, , b] = pods as [Pod, Pod, Pod];
  const label = (p: Pod) => p.name.split('-').slice(-2).join('-');
  say(`\n== cross-host traffic`);
  const p = await ping(a, b.ip);
  say(`ping ${label(a)} (${a.ip}) → ${label(b)} (${b.ip}): ${p}`);
  await tcpServer(b.name, 5001);
  const tcp = await tcpSend(a.name, b.ip, 5001, 1_000_000);
  say(
    `TCP  ${label(a)} → ${label(b)}: ${tcp ? `${tcp.bytes} bytes; ${label(b)} saw source ${tcp.from} (${tcp.from === a.ip ? 'the pod IP, no NAT' : 'NAT!'})` : 'FAILED'}`,
  );
  await tcpServer(c.outside.name, 5002);
  const out = await tcpSend(a.name, OUTSIDE_IP, 5002, 1000);
  say(
    `TCP  ${label(a)} → outside ${OUTSIDE_IP}: ${out ? `seen as ${out.from} (masqueraded to the host)` : 'FAILED'}`,
  );

  say('\n== teardown (DEL)');
  for (const pod of pods) {
    const r = await c.call(pod.host, 'DEL', pod);
    say(`  DEL ${label(pod)}: ${r.exitCode === 0 ? 'ok' : r.stdout}`);
  }
  return p !== 'FAILED' && tcp?.from === a.ip && out?.from === a.host.ip;
}

let ok = false;
try {
  ok = await main();
} finally {
  for (const fn of cleanups.reverse()) await fn();
  say('removed every namespace the demo made');
}
process.exit(ok ? 0 : 1);
