// CHECK: the plan rebuilt from prevResult, compared with what exists (read only, nothing written):
// the pod's interface as prevResult has it, the pod's and the host's objects, the network's shared
// state, the network's firewall chains (and the attachment's pod-set entries, where the rules read
// them), then IPAM CHECK. The first difference is error 103 naming the object; a peer route missing
// because the peer is not on-link is error 104.
import { CniError, configError, PluginCode } from '../cni/errors.js';
import type { Request } from '../cni/plugin.js';
import type { Result } from '../cni/result.js';
import { attachmentKey } from '../plan/attachment.js';
import type { NetworkConfig } from '../plan/config.js';
import { type NetPlugin, routeOwner } from '../plan/contract.js';
import { type Difference, diff } from '../plan/diff.js';
import { describePeers, type Peer, parsePeerSource } from '../plan/peers.js';
import type { IpRoute, Snapshot } from '../plan/state.js';
import { readAll } from './converge.js';
import { firewallProblem } from './firewall.js';
import { readPeerSource } from './peers-file.js';
import { attachmentArgs, attachmentOf, uplinkFor } from './plugin.js';
import type { Host } from './seam.js';

const failed = (msg: string) => new CniError(PluginCode.CheckFailed, msg);

export async function check<C extends NetworkConfig>(
  p: NetPlugin<C>,
  req: Request,
  host: Host,
): Promise<void> {
  const cfg = p.load(req.conf);
  const prev = req.conf.prevResult;
  if (!prev) throw configError('CHECK needs prevResult (the result of ADD)');
  const source = readPeerSource(host, cfg.peers, cfg.peersFile);
  const peers = parsePeerSource(source);
  const att = attachmentOf(req);
  // Without the peers file, routes to other hosts are not ours to judge (see PeerSource.missing).
  const owner = source.missing ? undefined : routeOwner(p, cfg.network);
  const uplink = await uplinkFor(host, p, cfg);
  const args = attachmentArgs(req);
  const plan = p.plan({ cfg, peers, att, netns: req.netns, uplink, remote: true, args, ipam: prev });
  // A link made inside the pod is checked there, through the plan's pod objects.
  const hostObjects = [...plan.shared, ...plan.hostLinks.filter((l) => !l.netns)];
  // (The pod's sysctls are written with it and not read back: that would cost a process.)
  const podObjects = plan.pod.filter((o) => o.kind !== 'sysctl');
  const [hostSnap, podSnap, firewall] = await Promise.all([
    readAll(host, hostObjects, owner),
    readAll(host, podObjects, undefined, req.netns),
    plan.firewall
      ? firewallProblem(
          host,
          plan.firewall,
          attachmentKey(att),
          plan.ips.map((ip) => ip.address),
        )
      : undefined,
  ]);
  checkPodInterface(req, prev, podSnap);
  const podDiffs = diff(podObjects, podSnap, undefined).map((d) => ({
    ...d,
    problem: `${d.problem} in ${req.netns}`,
  }));
  await reportFirst(host, [...podDiffs, ...diff(hostObjects, hostSnap, owner)], peers);
  if (firewall) throw failed(firewall);
  await req.ipam?.check();
}

/** The interface prevResult puts in this sandbox exists there, with its MAC. */
function checkPodInterface(req: Request, prev: Result, pod: Snapshot): void {
  const want = prev.interfaces.find((i) => i.name === req.ifname && i.sandbox === req.netns);
  if (!want) throw failed(`prevResult has no interface "${req.ifname}" in sandbox ${req.netns}`);
  const link = pod.links.get(req.ifname);
  if (!link) throw failed(`interface "${req.ifname}" is missing in ${req.netns}`);
  if (want.mac && link.address !== want.mac)
    throw failed(`interface "${req.ifname}" has MAC ${link.address}, prevResult says ${want.mac}`);
}

/** 104 when a missing peer route is missing because the peer is not on-link; else 103 for the first difference. */
async function reportFirst(host: Host, diffs: Difference[], peers: Peer[]): Promise<void> {
  const missingPeers = peers.filter((x) =>
    diffs.some((d) => d.peer === x.name && d.problem === 'is missing'),
  );
  const far = await notOnLink(host, missingPeers);
  if (far.length)
    throw new CniError(
      PluginCode.PeerNotOnLink,
      `peers not on-link (no route to their pods): ${describePeers(far)}`,
    );
  const first = diffs[0];
  if (first) throw failed(`${first.object} ${first.problem}`);
}

/** The peers whose nodeIP this host reaches only through a gateway (or not at all). */
export async function notOnLink(host: Host, peers: readonly Peer[]): Promise<Peer[]> {
  const far: Peer[] = [];
  for (const peer of peers) {
    const [route] = (await host.read(['route', 'get', peer.nodeIP]).catch(() => [])) as IpRoute[];
    if (!route || route.gateway) far.push(peer);
  }
  return far;
}
