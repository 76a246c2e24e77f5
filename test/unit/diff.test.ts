// The engine's pure core, table-driven: desired objects against a snapshot, as differences and fixes.
import t from 'tap';
import { type Difference, diff } from '../../lib/plan/diff.js';
import type { HostObject } from '../../lib/plan/model.js';
import type { IpLink, IpRoute } from '../../lib/plan/state.js';
import { emptySnapshot, type Snapshot } from '../../lib/plan/state.js';

const owner = { proto: 201, metric: 12345, network: 'podnet' };
const bridge: HostObject = { kind: 'link', name: 'cni0', type: 'bridge', mtu: 1500, promisc: true };
const link = (l: Partial<IpLink> & { ifname: string; kind: string }): IpLink => ({
  ifindex: 1,
  mtu: 1500,
  flags: ['UP'],
  promiscuity: 1,
  ...l,
  linkinfo: { info_kind: l.kind },
});
const snap = (parts: Partial<Snapshot> = {}): Snapshot => ({ ...emptySnapshot(), ...parts });
const fixes = (ds: Difference[]) => ds.flatMap((d) => d.fixes);

t.test('a missing shared link is created with a fresh MAC, then set up', async (t) => {
  const ds = diff([bridge], snap(), owner, { newMac: () => '02:00:00:00:00:01' });
  t.match(ds, [{ object: 'bridge cni0', problem: 'is missing' }]);
  t.same(fixes(ds), [
    { ip: ['link', 'add', 'name', 'cni0', 'address', '02:00:00:00:00:01', 'mtu', '1500', 'type', 'bridge'] },
    { ip: ['link', 'set', 'dev', 'cni0', 'promisc', 'on', 'up'] },
  ]);
});

t.test('links that exist: in place, down, of another kind', async (t) => {
  const links = (l: IpLink) => snap({ links: new Map([['cni0', l]]) });
  t.same(diff([bridge], links(link({ ifname: 'cni0', kind: 'bridge' })), owner), [], 'as wanted');
  t.match(diff([bridge], links(link({ ifname: 'cni0', kind: 'bridge', flags: [], promiscuity: 0 })), owner), [
    {
      problem: 'is down, is not in promiscuous mode',
      fixes: [{ ip: ['link', 'set', 'dev', 'cni0', 'promisc', 'on', 'up'] }],
    },
  ]);
  t.match(diff([bridge], links(link({ ifname: 'cni0', kind: 'veth' })), owner), [
    { problem: 'exists and is a veth', conflict: true, fixes: [] },
  ]);
  const port: HostObject = { kind: 'link', name: 'vb1', type: 'veth', master: 'cni0' };
  t.match(diff([port], snap({ links: new Map([['vb1', link({ ifname: 'vb1', kind: 'veth' })]]) }), owner), [
    { problem: 'is not a port of cni0' },
  ]);
});

t.test('addresses and sysctls', async (t) => {
  const addr: HostObject = { kind: 'addr', dev: 'cni0', cidr: 'fd00::1/64' };
  t.same(fixes(diff([addr], snap(), owner)), [
    { ip: ['addr', 'replace', 'fd00::1/64', 'dev', 'cni0', 'nodad'] },
  ]);
  t.same(diff([addr], snap({ addrs: new Map([['cni0', ['fd00::1/64']]]) }), owner), []);
  const fwd: HostObject = { kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' };
  t.same(fixes(diff([fwd], snap({ sysctls: new Map([['net.ipv4.ip_forward', '0']]) }), owner)), [
    { sysctl: ['net.ipv4.ip_forward', '1'] },
  ]);
  t.same(diff([fwd], snap({ sysctls: new Map([['net.ipv4.ip_forward', '1']]) }), owner), []);
});

t.test(
  "owned routes: added with the owner's marks, replaced when the gateway moved, pruned when gone",
  async (t) => {
    const peer: HostObject = { kind: 'route', dst: '10.244.2.0/24', via: '192.168.1.12', peer: 'h2' };
    const have = (...routes: IpRoute[]) => snap({ routes });
    t.match(diff([peer], have(), owner), [
      {
        object: 'route 10.244.2.0/24 via 192.168.1.12',
        peer: 'h2',
        fixes: [
          {
            ip: [
              'route',
              'replace',
              '10.244.2.0/24',
              'via',
              '192.168.1.12',
              'proto',
              '201',
              'metric',
              '12345',
            ],
          },
        ],
      },
    ]);
    t.same(diff([peer], have({ dst: '10.244.2.0/24', gateway: '192.168.1.12', metric: 12345 }), owner), []);
    t.match(diff([peer], have({ dst: '10.244.2.0/24', gateway: '192.168.1.99', metric: 12345 }), owner), [
      { problem: 'is missing' },
    ]);
    t.match(diff([], have({ dst: '10.244.9.0/24', gateway: '192.168.1.9', metric: 12345 }), owner), [
      {
        object: 'route 10.244.9.0/24 via 192.168.1.9',
        problem: 'is stale (not in the plan)',
        fixes: [{ ip: ['route', 'del', '10.244.9.0/24', 'proto', '201', 'metric', '12345'] }],
      },
    ]);
    const host32: HostObject = { kind: 'route', dst: '10.9.9.9/32', via: '192.168.1.9' };
    t.same(
      diff([host32], have({ dst: '10.9.9.9', gateway: '192.168.1.9', metric: 12345 }), owner),
      [],
      '/32 as ip prints it',
    );
  },
);

t.test('inside a pod (no owner): nothing is pruned; "default" is 0.0.0.0/0', async (t) => {
  const dflt: HostObject = { kind: 'route', dst: '0.0.0.0/0', via: '10.244.1.1', dev: 'eth0' };
  const pod = snap({
    routes: [
      { dst: 'default', gateway: '10.244.1.1', dev: 'eth0' },
      { dst: '10.244.1.0/24', dev: 'eth0' },
    ],
  });
  t.same(diff([dflt], pod, undefined), []);
  t.match(diff([dflt], snap(), undefined), [
    { object: 'route 0.0.0.0/0 via 10.244.1.1', problem: 'is missing' },
  ]);
});

t.test('neighbours', async (t) => {
  const n: HostObject = { kind: 'neigh', dev: 'vx0', ip: '10.244.2.0', lladdr: '02:aa:00:00:00:02' };
  t.same(fixes(diff([n], snap(), owner)), [
    {
      ip: ['neigh', 'replace', '10.244.2.0', 'lladdr', '02:aa:00:00:00:02', 'dev', 'vx0', 'nud', 'permanent'],
    },
  ]);
  const stale = snap({ neighs: new Map([['vx0', [{ dst: '10.244.2.0', lladdr: '02:aa:00:00:00:09' }]]]) });
  t.match(diff([n], stale, owner), [{ problem: 'has lladdr 02:aa:00:00:00:09, want 02:aa:00:00:00:02' }]);
});

t.test("a peer's tunnel: kept while planned, deleted with its routes once the peer left", async (t) => {
  const tunnel: HostObject = {
    kind: 'link',
    name: 'gr1',
    type: 'gre',
    alias: 'cni-suite-peer/podnet/192.168.50.12',
  };
  const route: HostObject = { kind: 'route', dst: '10.244.2.0/24', dev: 'gr1' };
  const s = snap({
    links: new Map([
      ['gr1', link({ ifname: 'gr1', kind: 'gre', ifalias: 'cni-suite-peer/podnet/192.168.50.12' })],
      ['gr2', link({ ifname: 'gr2', kind: 'gre', ifalias: 'cni-suite-peer/othernet/192.168.50.12' })],
      ['eth9', link({ ifname: 'eth9', kind: 'veth', ifalias: 'cni-suite/podnet/c1/eth0' })],
    ]),
    routes: [{ dst: '10.244.2.0/24', dev: 'gr1', protocol: '201', metric: 12345 } as IpRoute],
  });
  t.same(diff([tunnel, route], s, owner), [], 'planned: nothing to do');
  t.same(
    fixes(diff([], s, owner)),
    [{ ip: ['link', 'del', 'dev', 'gr1'] }],
    "gone from the plan: the link is deleted, its route goes with it; another network's and an attachment's links stay",
  );
  t.same(diff([], s, undefined), [], 'without an owner (peers out of scope) nothing is pruned');
});
