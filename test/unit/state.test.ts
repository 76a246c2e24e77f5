// The engine on recorded output: what `ip -j -d -batch` and `nft -j` printed on a host with two
// bridge-route pods, parsed and compared with the plan that made them. The batch's first answer
// (`link show`) was recorded apart, in a netns holding the same devices and a link that carries a
// peer-link alias of the network (a tunnel to a host that left).
import { readFileSync } from 'node:fs';
import t from 'tap';
import { networkMetric } from '../../lib/plan/attachment.js';
import { diff } from '../../lib/plan/diff.js';
import { parseAttachments } from '../../lib/plan/firewall.js';
import type { HostObject } from '../../lib/plan/model.js';
import { parseSnapshot, readsFor } from '../../lib/plan/state.js';

const recorded = (f: string) => readFileSync(new URL(`./recorded/${f}`, import.meta.url), 'utf8');
const owner = { proto: 201, metric: networkMetric('podnet'), network: 'podnet' };
const desired: HostObject[] = [
  { kind: 'link', name: 'cni0', type: 'bridge' },
  { kind: 'link', name: 'vb24fa910e25b7c', type: 'veth', master: 'cni0' },
  { kind: 'addr', dev: 'cni0', cidr: '10.244.1.1/24' },
  { kind: 'route', dst: '10.244.2.0/24', via: '192.168.50.12', peer: 'h2' },
];

t.test(
  'the reads a plan needs: all links, one `addr show` per link, our routes of both families',
  async (t) => {
    t.same(
      readsFor(desired, owner).map((r) => r.argv.join(' ')),
      [
        'link show',
        'addr show dev cni0',
        'addr show dev vb24fa910e25b7c',
        'route show root 0.0.0.0/0 proto 201',
        'route show root ::/0 proto 201',
      ],
    );
  },
);

t.test(
  'recorded ip output parses into links, addresses and owned routes; the plan has no difference',
  async (t) => {
    const answers = recorded('host-batch.jsonl')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown[]);
    const snap = parseSnapshot(readsFor(desired, owner), answers, owner);
    t.equal(snap.links.get('cni0')?.linkinfo?.info_kind, 'bridge');
    t.equal(snap.links.get('vb24fa910e25b7c')?.master, 'cni0');
    t.same(
      snap.addrs.get('cni0')?.filter((a) => !a.startsWith('fe80')),
      ['10.244.1.1/24'],
    );
    t.match(snap.routes, [{ dst: '10.244.2.0/24', gateway: '192.168.50.12' }]);
    t.same(
      diff(desired, snap, owner).map((d) => [d.problem, d.fixes]),
      [['is stale (its peer is not in the plan)', [{ ip: ['link', 'del', 'dev', 'gr0a1b2c3d4e5f6'] }]]],
      'converged but for the link to a peer that left',
    );
    const tunnel: HostObject = { kind: 'link', name: 'gr0a1b2c3d4e5f6', type: 'veth' };
    t.same(
      diff([...desired, tunnel], snap, owner).map((d) => `${d.object} ${d.problem}`),
      ['veth gr0a1b2c3d4e5f6 is down'],
      'with that link in the plan it is kept (and brought up)',
    );
    t.same(
      diff(desired, snap, { ...owner, network: 'othernet' }).filter((d) =>
        d.object.includes('gr0a1b2c3d4e5f6'),
      ),
      [],
      "another network's peer links are not this network's to delete",
    );
    const otherNetwork = parseSnapshot(readsFor(desired, owner), answers, {
      proto: 201,
      metric: 1,
      network: 'podnet',
    });
    t.same(otherNetwork.routes, [], "another network's metric does not see this network's routes");
    t.match(
      diff([...desired.slice(0, 3), tunnel], snap, owner),
      [{ problem: 'is down' }, { problem: 'is stale (not in the plan)', object: /^route 10.244.2.0/ }],
      'a peer gone',
    );
  },
);

t.test('recorded nft output: the pod-set elements of a network, keyed by attachment', async (t) => {
  const nft = (JSON.parse(recorded('nft-table.json')) as { nftables: Record<string, unknown>[] }).nftables;
  t.match(parseAttachments('podnet', nft), [
    { addr: '10.244.1.2', key: 'c1/eth0', set: /_pods4$/ },
    { addr: '10.244.1.3', key: 'c2/eth0', set: /_pods4$/ },
  ]);
  t.same(parseAttachments('othernet', nft), [], 'other networks have their own sets');
});
