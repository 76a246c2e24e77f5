// The engine's verbs (lib/engine) against a fake host (test/helpers/fake-host.ts), driving
// bridge-route's plan: what ADD creates and in which batches, what a failed ADD undoes (and what it
// must leave), the errors a taken name gives, and that DEL, GC and CHECK act on what they can prove.
// The real kernel is the e2e tier's; this shows the engine's decisions one by one.
import t from 'tap';
import { parseNetConf } from '../../lib/cni/config.js';
import type { IpamDelegate, Request } from '../../lib/cni/plugin.js';
import type { Result } from '../../lib/cni/result.js';
import { add } from '../../lib/engine/add.js';
import { check } from '../../lib/engine/check.js';
import { del } from '../../lib/engine/del.js';
import { gc } from '../../lib/engine/gc.js';
import { BatchFailure } from '../../lib/engine/seam.js';
import { attachmentLock, hostLinkName, linkAlias } from '../../lib/plan/attachment.js';
import { net as bridgeRoute } from '../../plugins/bridge-route/index.js';
import { net as macvlan } from '../../plugins/macvlan/index.js';
import { FakeHost } from '../helpers/fake-host.js';

const POD = '/run/netns/pod1';
const CONF = {
  cniVersion: '1.1.0',
  name: 'podnet',
  type: 'bridge-route',
  ipMasq: true,
  clusterCIDR: '10.244.0.0/16',
  peers: [{ name: 'h2', nodeIP: '192.168.100.12', podCIDR: '10.244.2.0/24' }],
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]] },
};

/** IPAM that hands out 10.244.1.5 and logs to the host's log. */
function ipam(host: FakeHost): IpamDelegate {
  const answer: Result = {
    interfaces: [],
    ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.1' }],
    routes: [],
    dns: {},
  };
  return {
    type: 'host-local',
    add: async () => {
      host.log.push('ipam add');
      return answer;
    },
    del: async () => void host.log.push('ipam del'),
    check: async () => {},
    gc: async () => void host.log.push('ipam gc'),
    status: async () => {},
  };
}

function request(host: FakeHost, command: string, extra: Record<string, unknown> = {}, id = 'c1'): Request {
  const raw = { ...CONF, ...extra };
  const warnings: string[] = [];
  return {
    command: command as Request['command'],
    containerId: id,
    netns: id === 'c1' ? POD : `/run/netns/${id}`,
    ifname: 'eth0',
    args: '',
    path: ['/opt/cni/bin'],
    ignoredPath: [],
    conf: parseNetConf(raw, '1.1.0', JSON.stringify(raw)),
    cniArgs: {},
    attachments: [],
    ipam: ipam(host),
    log: { debug: () => {}, info: () => {}, warn: (m) => void warnings.push(m), error: () => {} },
    env: {},
  };
}

const VETH = hostLinkName({ network: 'podnet', containerId: 'c1', ifname: 'eth0' }, 'vb');
const links = (host: FakeHost, netns = '') => [...host.links(netns).keys()].sort();

t.test(
  'ADD on a fresh host: the bridge made once IPAM accepted, then the veth; pod, routes, rules',
  async (t) => {
    const host = new FakeHost();
    const result = await add(bridgeRoute, request(host, 'ADD'), host);
    t.same(links(host), ['cni0', 'eth0', VETH].sort(), 'the bridge and the host veth');
    t.same(links(host, POD), ['eth0'], 'the pod end');
    t.equal(host.links().get(VETH)?.master, 'cni0', 'the veth is a port of the bridge');
    t.match(host.links().get('cni0')?.addr_info, [{ local: '10.244.1.1' }], 'the gateway address');
    t.equal(host.sysctls.get('net.ipv4.ip_forward'), '1', 'forwarding on');
    t.ok(
      host.routes.some((r) => r.cmd.startsWith('route replace 10.244.2.0/24 via 192.168.100.12')),
      'the peer route',
    );
    t.match(host.nft.join(), /masquerade/, 'the masquerade rules');
    t.match(result, {
      ips: [{ address: '10.244.1.5/24' }],
      interfaces: [{ name: 'cni0' }, { name: VETH }, { name: 'eth0', sandbox: POD }],
    });
    const ipamAt = host.log.indexOf('ipam add');
    const bridgeAt = host.log.findIndex((l) => l.includes('link add') && l.includes('name cni0'));
    t.ok(ipamAt >= 0 && bridgeAt > ipamAt, 'the missing bridge is created only after IPAM answered');
    t.same(host.heldLocks, new Set(), 'the lock is released');
  },
);

t.test('a failed first ADD undoes all it made: veth, bridge, forwarding, rules, lease', async (t) => {
  const host = new FakeHost();
  host.failOn = (cmd, netns) => (netns === POD && cmd[0] === 'route' ? 'other' : undefined);
  await t.rejects(add(bridgeRoute, request(host, 'ADD'), host), { name: 'BatchFailure' });
  t.same(links(host), ['eth0'], 'no bridge, no veth');
  t.equal(host.sysctls.get('net.ipv4.ip_forward'), '0', 'forwarding back off');
  t.match(host.nft.join(), /delete chain inet cni_suite n\w+_post/, "the network's chains removed");
  t.match(host.nft.at(-1), /delete table inet cni_suite/, 'and the tables left empty');
  t.ok(host.log.includes('ipam del'), 'the lease released');
  t.ok(host.log.indexOf('ipam del') > host.log.indexOf(`delete ${VETH}`), 'last, after the links');
});

t.test('a failed ADD leaves the shared state another attachment uses', async (t) => {
  const host = new FakeHost();
  await add(bridgeRoute, request(host, 'ADD', {}, 'live'), host);
  const made = host.nft.length;
  host.failOn = (cmd, netns) => (netns === POD && cmd[0] === 'route' ? 'other' : undefined);
  await t.rejects(add(bridgeRoute, request(host, 'ADD'), host));
  t.ok(host.links().has('cni0'), 'the bridge stays');
  t.equal(host.sysctls.get('net.ipv4.ip_forward'), '1', 'forwarding stays');
  t.notOk(
    host.nft.slice(made).some((s) => s.includes('delete chain')),
    'no rule removed',
  );
  t.notOk(host.links().has(VETH), "the failed ADD's own veth is gone");
});

t.test('a name taken: 105 for a live attachment, 4 for a pod that holds CNI_IFNAME', async (t) => {
  const live = new FakeHost();
  await add(bridgeRoute, request(live, 'ADD'), live);
  await t.rejects(add(bridgeRoute, request(live, 'ADD'), live), {
    code: 105,
    message: /attached as eth0 already/,
  });
  t.ok(live.links().has(VETH), "the live attachment's veth stays");
  const taken = new FakeHost();
  taken.addLink(POD, { ifname: 'eth0', kind: 'veth' });
  taken.addLink('', { ifname: 'cni0', kind: 'bridge' });
  await t.rejects(add(bridgeRoute, request(taken, 'ADD'), taken), {
    code: 4,
    message: /CNI_IFNAME "eth0" exists in the container's netns/,
  });
  t.same(links(taken), ['cni0', 'eth0'], 'nothing of ours left in the host');
  t.ok(taken.log.includes('ipam del'), 'the lease released');
});

t.test(
  'a macvlan pod link is deleted only with our alias; our leftover under its host name always',
  async (t) => {
    const host = new FakeHost();
    const att = { network: 'podnet', containerId: 'c1', ifname: 'eth0' };
    const conf = { type: 'macvlan', master: 'eth0', ipMasq: false, peers: undefined, clusterCIDR: undefined };
    host.addLink(POD, { ifname: 'eth0', kind: 'macvlan' });
    host.addLink(POD, { ifname: hostLinkName(att, 'cx'), kind: 'macvlan' });
    await del(macvlan, request(host, 'DEL', conf), host);
    t.same(links(host, POD), ['eth0'], 'a macvlan eth0 without our alias stays; our cx… goes');
    host.links(POD).get('eth0')!.ifalias = linkAlias(att);
    await del(macvlan, request(host, 'DEL', conf), host);
    t.same(links(host, POD), [], 'with our alias it goes');
  },
);

t.test('DEL: links, then firewall entries, then IPAM; no nft is no error; the lock file goes', async (t) => {
  const host = new FakeHost();
  await add(bridgeRoute, request(host, 'ADD', { ipMasq: false }), host);
  host.nftInstalled = false;
  host.log.length = 0;
  await del(bridgeRoute, request(host, 'DEL', { ipMasq: false }), host);
  t.notOk(host.links().has(VETH), 'the veth is gone');
  t.ok(host.links().has('cni0'), 'the bridge, shared, stays');
  t.ok(host.log.indexOf(`delete ${VETH}`) < host.log.indexOf('ipam del'), 'IPAM last');
  t.match(host.log.at(-1), /^unlock att\/\w+ \(removed\)$/, 'the lock released and its file removed');
  await del(bridgeRoute, request(host, 'DEL', { ipMasq: false }), host);
  t.pass('a second DEL succeeds');
});

t.test('GC prunes a stale attachment by its alias, and skips one whose ADD holds the lock', async (t) => {
  const host = new FakeHost();
  await add(bridgeRoute, request(host, 'ADD', {}, 'stale'), host);
  await add(bridgeRoute, request(host, 'ADD', {}, 'busy'), host);
  const busy = await host.holdLock(
    attachmentLock({ network: 'podnet', containerId: 'busy', ifname: 'eth0' }),
  );
  const req = request(host, 'GC');
  await gc(bridgeRoute, req, host);
  const owners = [...host.links().values()].map((l) => l.ifalias).filter(Boolean);
  t.notMatch(owners.join(), /stale/, 'the stale one is pruned');
  t.match(owners.join(), /busy/, 'the one whose ADD runs stays');
  t.ok(host.log.includes('ipam gc'), 'IPAM GC ran');
  busy();
});

t.test('CHECK names the first difference (103)', async (t) => {
  const host = new FakeHost();
  const result = await add(bridgeRoute, request(host, 'ADD', { ipMasq: false }), host);
  const prev = { ...CONF, ipMasq: false, prevResult: result };
  await check(bridgeRoute, request(host, 'CHECK', prev), host);
  t.pass('CHECK passes right after ADD');
  host.links().delete(VETH);
  await t.rejects(check(bridgeRoute, request(host, 'CHECK', prev), host), {
    code: 103,
    message: new RegExp(VETH),
  });
});

t.test('a batch failing at a known line undoes the links before it; at an unknown one, all', async (t) => {
  const host = new FakeHost();
  host.addLink('', { ifname: 'cni0', kind: 'bridge' });
  // The veth's `link set … master` fails: the veth (made by the line before) is this call's to undo.
  host.failOn = (cmd) => (cmd[0] === 'link' && cmd[1] === 'set' && cmd.includes(VETH) ? 'other' : undefined);
  await t.rejects(add(bridgeRoute, request(host, 'ADD'), host));
  t.ok(host.log.includes(`delete ${VETH}`), 'the veth made before the failed line is deleted');
  t.same(links(host), ['cni0', 'eth0'], 'and nothing of this call is left');
  const unknown = new FakeHost();
  unknown.addLink('', { ifname: 'cni0', kind: 'bridge' });
  // The batch made the veth, then died without saying where (as a killed `ip` would).
  unknown.failOn = (cmd) => {
    if (cmd[0] !== 'link' || cmd[1] !== 'add') return undefined;
    unknown.addLink('', { ifname: VETH, kind: 'veth' });
    throw new BatchFailure('other', undefined, 'killed mid-batch');
  };
  await t.rejects(add(bridgeRoute, request(unknown, 'ADD'), unknown), { message: 'killed mid-batch' });
  t.ok(unknown.log.includes(`delete ${VETH}`), 'with no line known, every link it may have made is undone');
  t.same(links(unknown), ['cni0', 'eth0'], 'so none is left');
});
