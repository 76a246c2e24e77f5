// The fault run's churn: 60 s (FUZZ_CHURN_S) of ADD and DEL from 20 callers at once over a few
// attachments on one bridge-route host, as a runtime under pressure would call. DEL never fails,
// ADD fails only because the attachment exists (105, or host-local's 102), no two pods ever hold
// the same address, and after a final DEL of each nothing is left.
import { execa } from 'execa';
import t from 'tap';
import { Cluster, type ClusterHost, leaseFiles } from '../helpers/cluster.js';
import { inNs, ip } from '../helpers/lab.js';
import { BIN, bin } from '../helpers/plugin.js';

const SECONDS = Number(process.env.FUZZ_CHURN_S ?? 60);
const CALLERS = 20;
const ATTACHMENTS = 6;

t.test(`${SECONDS} s of ADD/DEL churn, ${CALLERS} callers over ${ATTACHMENTS} attachments`, async (t) => {
  t.setTimeout((SECONDS + 120) * 1000);
  // No pod subnet in the config: each pod's address is an nft element, which must not leak either.
  const c = await Cluster.create(t, { hosts: 1, podSets: true });
  const [h1] = c.hosts as [ClusterHost];
  const conf = JSON.stringify(c.conf(h1));
  const pods = await Promise.all(Array.from({ length: ATTACHMENTS }, (_, i) => c.lab.container(`ch${i}`)));
  const call = (command: string, i: number) =>
    execa('ip', ['netns', 'exec', h1.name, bin('bridge-route')], {
      env: {
        PATH: process.env.PATH ?? '',
        CNI_COMMAND: command,
        CNI_CONTAINERID: `churn-${i}`,
        CNI_NETNS: pods[i]!.path,
        CNI_IFNAME: 'eth0',
        CNI_PATH: BIN,
      },
      extendEnv: false,
      input: conf,
      reject: false,
      timeout: 60_000,
    });
  const counts = { ADD: 0, DEL: 0, refused: 0 };
  const unexpected: string[] = [];
  const duplicates: string[] = [];
  const deadline = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (Date.now() < deadline) {
        const i = Math.floor(Math.random() * ATTACHMENTS);
        const command = Math.random() < 0.5 ? 'ADD' : 'DEL';
        const r = await call(command, i);
        const code = r.exitCode === 0 ? 0 : (JSON.parse(r.stdout || '{}') as { code?: number }).code;
        if (code === 0) counts[command as 'ADD' | 'DEL']++;
        else if (command === 'ADD' && (code === 105 || code === 102)) counts.refused++;
        else unexpected.push(`${command} churn-${i}: ${r.stdout.slice(0, 200)}`);
      }
    }),
  );
  // What the pods hold now: every address once.
  const held = new Map<string, string>();
  for (const [i, pod] of pods.entries()) {
    const addr = /inet (\S+)\//.exec(
      await ip(['-4', 'addr', 'show', 'dev', 'eth0'], pod.name).catch(() => ''),
    )?.[1];
    if (!addr) continue;
    if (held.has(addr)) duplicates.push(`${addr}: churn-${held.get(addr)} and churn-${i}`);
    held.set(addr, String(i));
  }
  t.comment(`${counts.ADD} ADDs, ${counts.DEL} DELs, ${counts.refused} ADDs refused as attached already`);
  t.ok(counts.ADD > 20 && counts.DEL > 20, 'the churn ran: many ADDs and DELs succeeded');
  t.same(unexpected, [], 'no other failure: DEL never failed, ADD only for an existing attachment');
  t.same(duplicates, [], 'no two pods hold the same address');
  t.equal(leaseFiles(h1).length, held.size, 'one lease per pod that has an address');
  for (let i = 0; i < ATTACHMENTS; i++) t.equal((await call('DEL', i)).exitCode, 0, `final DEL churn-${i}`);
  t.same(leaseFiles(h1), [], 'no lease left');
  const veths = (await ip(['-br', 'link', 'show', 'type', 'veth'], h1.name))
    .split('\n')
    .filter((l) => l && !l.startsWith('eth0'));
  t.same(veths, [], 'no pod veth left');
  t.notMatch(
    (await inNs(h1.name, 'nft', ['list', 'table', 'inet', 'cni_suite'])).stdout,
    /comment/,
    'no firewall entry left',
  );
});
