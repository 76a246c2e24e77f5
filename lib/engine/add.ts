// ADD: lock the attachment → IPAM ∥ (uplink → scope of the objects to other hosts (scope.ts) → host
// links created in the `ip` run that reads the shared state) → plan with IPAM's answer → pod
// configured ∥ shared state converged ∥ firewall. The undo stack holds only what this call created;
// independent steps run side by side because each costs a process start.
import { CniError, configError, ErrorCode, PluginCode } from '../cni/errors.js';
import type { Request } from '../cni/plugin.js';
import { emptyResult, type Result } from '../cni/result.js';
import { attachmentKey, attachmentLock } from '../plan/attachment.js';
import { createLinkCommands, podCommands } from '../plan/commands.js';
import type { NetworkConfig } from '../plan/config.js';
import { type NetPlugin, type PlanInput, routeOwner } from '../plan/contract.js';
import { diff } from '../plan/diff.js';
import { type FirewallSpec, unmatchedAddresses, usesPodSets } from '../plan/firewall.js';
import type { AttachmentId, HostObject, LinkSpec, OwnedLink, Plan } from '../plan/model.js';
import type { PeerSource } from '../plan/peers.js';
import type { IpLink, RouteOwner, Snapshot } from '../plan/state.js';
import type { Uplink } from '../plan/uplink.js';
import { converge, MissingObject, readAll, readAndWrite, WriteFailed } from './converge.js';
import { ensureFirewall, removeAttachments, removeNetworkFirewall } from './firewall.js';
import { deleteLinks } from './links.js';
import { peersFileMissing, readPeerSource } from './peers-file.js';
import { attachmentArgs, attachmentOf, recentUplinkFor, uplinkFor } from './plugin.js';
import { type PeersScope, peersScope } from './scope.js';
import { type Host, isExists } from './seam.js';
import { settleAll, type UndoStack, withUndo } from './undo.js';
import { noteUplink, recheckUplink } from './uplink.js';

export async function add<C extends NetworkConfig>(
  p: NetPlugin<C>,
  req: Request,
  host: Host,
): Promise<Result> {
  const cfg = p.load(req.conf);
  const source = readPeerSource(host, cfg.peers, cfg.peersFile);
  if (source.missing) req.log.warn(peersFileMissing(source));
  const att = attachmentOf(req);
  const owner = routeOwner(p, cfg.network);
  const release = await host.holdLock(attachmentLock(att));
  try {
    return await withUndo(req.log, async (undo) => {
      const leased = lease(p, req, undo);
      const input = { cfg, att, netns: req.netns, args: attachmentArgs(req) };
      const fresh: Fresh = { links: [], sysctls: [], firewall: undefined };
      const wired = wireHost({ p, host, input, source, owner, ipamAccepted: leased, req, undo, fresh });
      const [ipam, { recent, scope, snap }] = await settleAll([leased, wired]);
      const plan = p.plan({
        ...input,
        peers: scope.peers,
        remote: scope.remote,
        uplink: recent.uplink,
        ipam,
      });
      await settleAll([
        configurePod(host, plan, req.netns),
        convergeShared(host, plan, scope, snap, req, fresh),
        ensureAttachmentFirewall(host, plan, att, undo, req, fresh),
      ]);
      noteUplink(host, recent);
      return resultOf(plan, snap);
    });
  } finally {
    release();
  }
}

async function lease<C extends NetworkConfig>(
  p: NetPlugin<C>,
  req: Request,
  undo: UndoStack,
): Promise<Result> {
  if (!req.ipam && p.ipamOptional) return emptyResult();
  if (!req.ipam)
    throw configError(
      'ipam is required, e.g. {"type": "host-local", "ranges": [[{"subnet": "10.244.1.0/24"}]]}',
    );
  const ipam = req.ipam;
  const result = await ipam.add();
  undo.push('release IPAM lease', () => ipam.del());
  if (!result.ips.length) throw configError(`ipam "${ipam.type}" returned no IP address`);
  return result;
}

interface HostStep<C extends NetworkConfig> {
  p: NetPlugin<C>;
  host: Host;
  input: Omit<PlanInput<C>, 'uplink' | 'ipam' | 'peers' | 'remote'>;
  source: PeerSource;
  owner: RouteOwner;
  ipamAccepted: Promise<unknown>;
  req: Request;
  undo: UndoStack;
  fresh: Fresh;
}

/** The host side while IPAM runs: the uplink (when the plan needs it), the scope, then the links. */
async function wireHost<C extends NetworkConfig>(s: HostStep<C>) {
  const { cfg } = s.input;
  const recent = await recentUplinkFor(s.host, s.p, cfg);
  const { uplink } = recent;
  const scope = peersScope(s.host, cfg.network, s.source, [cfg, uplink], s.owner);
  const planOn = (u: Uplink) =>
    s.p.plan({ ...s.input, peers: scope.peers, remote: scope.remote, uplink: u, ipam: undefined });
  try {
    return { recent, scope, snap: await createHostLinks(s, planOn(uplink), scope) };
  } catch (err) {
    if (recent.recalled) await failIfUplinkChanged(s.host, uplink, () => uplinkFor(s.host, s.p, cfg), planOn);
    throw err;
  }
}

/**
 * After host links could not be made on a recalled uplink: if it has gone or changed since, a plan
 * on it as it is now says what is wrong (a master that no longer exists is 7), else it is 11, and
 * the runtime's retry reads it afresh. Returns when it is as recalled (the error was another's).
 */
async function failIfUplinkChanged(
  host: Host,
  recalled: Uplink,
  read: () => Promise<Uplink>,
  planOn: (u: Uplink) => Plan,
): Promise<void> {
  const now = await recheckUplink(host, recalled, read);
  if (now === recalled) return;
  planOn(now);
  throw new CniError(
    ErrorCode.TryAgainLater,
    `uplink ${recalled.dev} changed since an earlier ADD read it; try again`,
  );
}

/**
 * The attachment's host links, created in the `ip` run that reads the shared state. A missing shared
 * link is created first, and only once IPAM has accepted the config (bad input changes nothing).
 * A link is undone only if the batch got past creating it, so an ADD repeated for a live
 * attachment fails on EEXIST and leaves the live one alone.
 */
async function createHostLinks<C extends NetworkConfig>(
  s: HostStep<C>,
  plan: Plan,
  scope: PeersScope,
  sharedCreated = false,
): Promise<Snapshot> {
  const creates = plan.hostLinks.map((link) => {
    const cmds = createLinkCommands(link);
    return {
      link,
      // What to delete if this call fails: the link where it ends up, and where it is until its move.
      undo: [ownedLink(link), ...temporary(link)],
      temporary: temporary(link),
      cmds,
      /** The line giving the link its final name: EEXIST there means that name is taken. */
      named: link.hostName ? cmds.length - 1 : 0,
    };
  });
  try {
    const snap = await readAndWrite(
      s.host,
      scope.select(plan.shared),
      scope.owner,
      creates.flatMap((c) => c.cmds),
    );
    for (const c of creates) s.undo.push(`delete ${c.link.name}`, () => deleteLinks(s.host, c.undo));
    return snap;
  } catch (err) {
    if (err instanceof MissingObject && !sharedCreated) {
      await s.ipamAccepted;
      const before = await readAll(s.host, plan.shared, s.owner);
      s.fresh.links = plan.shared.flatMap((o) =>
        o.kind === 'link' && !before.links.has(o.name) ? [o.name] : [],
      );
      // Undone after the attachment's own links (pushed later, so undone first).
      s.undo.push('undo the shared state this call created, unless in use', () =>
        undoFresh(s.host, s.fresh, s.req),
      );
      await converge(s.host, plan.shared, before, s.owner, s.req.log);
      return createHostLinks(s, plan, scope, true);
    }
    if (!(err instanceof WriteFailed)) throw err;
    let line = 0;
    for (const c of creates) {
      if (err.index === line + c.named && isExists(err.error)) {
        // The name is taken: only what this call made goes, and the error says whose the name is.
        s.undo.push(`delete ${c.link.name} (host name)`, () => deleteLinks(s.host, c.temporary));
        throw await nameTaken(s.host, c.link, s.req);
      }
      if (err.index === undefined || line < err.index)
        s.undo.push(`delete ${c.link.name}`, () => deleteLinks(s.host, c.undo));
      line += c.cmds.length;
    }
    await failIfConflict(s.host, plan.shared, s.owner);
    throw err.error;
  }
}

/**
 * Why a link's final name was taken: the attachment is live (its host link, or its alias on the
 * pod's link) and this is a repeated ADD (105), or the pod holds an interface of another owner
 * under CNI_IFNAME (4).
 */
async function nameTaken(host: Host, link: LinkSpec, req: Request): Promise<CniError> {
  const there = link.hostName
    ? ((await host
        .read(['link', 'show', 'dev', link.name], { netns: link.netns })
        .catch(() => [])) as IpLink[])
    : [];
  const live = link.hostName
    ? there.some((l) => l.ifalias !== undefined && l.ifalias === link.alias)
    : host.hasLink(link.name) === true;
  if (live)
    return new CniError(
      PluginCode.AlreadyAttached,
      `${link.name} exists: container ${req.containerId} is attached as ${req.ifname} already; DEL it first`,
    );
  return new CniError(
    ErrorCode.InvalidEnvironment,
    `CNI_IFNAME "${req.ifname}" exists in the container's netns ${req.netns} and is not this attachment's; choose another ifname or remove it`,
  );
}

/** After a failed write: a shared object under a name that holds another kind of device is 7. */
async function failIfConflict(host: Host, shared: readonly HostObject[], owner: RouteOwner): Promise<void> {
  const links = shared.filter((o) => o.kind === 'link');
  if (!links.length) return;
  const snap = await readAll(host, links, owner).catch(() => undefined);
  const conflict = snap && diff(links, snap, owner).find((d) => d.conflict);
  if (conflict) throw configError(`${conflict.object} ${conflict.problem}; choose another name or remove it`);
}

/** A link as DEL and undo may prove it: a pod's link by its kind and alias. */
const ownedLink = (link: LinkSpec): OwnedLink =>
  link.netns && link.hostName
    ? { name: link.name, netns: link.netns, type: link.type, ...(link.alias ? { alias: link.alias } : {}) }
    : { name: link.name, netns: link.netns };

/** The network's shared state this ADD created on a host that had none of it, for undoFresh. */
interface Fresh {
  /** Shared links that were missing (a bridge, a tunnel). */
  links: string[];
  /** Host sysctls this call changed, with their values before. */
  sysctls: [key: string, before: string][];
  /** The network's firewall, written by this call. */
  firewall: FirewallSpec | undefined;
}

/**
 * Undoes the network's shared state that this failed ADD created (its links, with their addresses
 * and routes; the sysctls it changed; the network's firewall), unless another attachment's ADD has
 * put a port on one of those links meanwhile: then all of it stays, for that attachment.
 */
async function undoFresh(host: Host, fresh: Fresh, req: Request): Promise<void> {
  for (const name of [...fresh.links].reverse()) {
    const ports = await host.read(['link', 'show', 'master', name]).catch(() => []);
    if (ports.length) return;
  }
  for (const name of [...fresh.links].reverse()) await host.deleteLink(name);
  for (const [key, before] of fresh.sysctls) {
    try {
      host.ensureSysctl(key, before);
    } catch (err) {
      req.log.warn(`undo: cannot restore ${key} to ${before}: ${(err as Error).message}`);
    }
  }
  if (fresh.firewall) await removeNetworkFirewall(host, fresh.firewall);
}

/** A pod link's name before its move and rename: in the host, and in the pod when the rename failed. */
const temporary = (link: LinkSpec): OwnedLink[] =>
  link.hostName
    ? [
        { name: link.hostName, type: link.type },
        { name: link.hostName, netns: link.netns, type: link.type },
      ]
    : [];

/** Inside the pod, in one process: its sysctls first (arp_notify must be on before the link comes up), then `ip`. */
async function configurePod(host: Host, plan: Plan, netns: string): Promise<void> {
  const sysctls = plan.pod.flatMap((o) => (o.kind === 'sysctl' ? [[o.key, o.value] as const] : []));
  await host.batch(podCommands(plan.pod), { netns, sysctls });
}

/**
 * Shared state is no attachment's: no undo, unless this call created it (see undoFresh). An
 * unreachable peer must not fail this pod's ADD.
 */
async function convergeShared(
  host: Host,
  plan: Plan,
  scope: PeersScope,
  snap: Snapshot,
  req: Request,
  fresh: Fresh,
) {
  if (fresh.links.length) fresh.sysctls = sysctlsBefore(host, plan.shared);
  const failed = await converge(host, scope.select(plan.shared), snap, scope.owner, req.log);
  scope.converged(failed);
  if (failed.length)
    req.log.warn(`peers not on-link, no route installed: ${failed.map((d) => d.peer).join(', ')}`);
}

/** The plan's host sysctls that differ from it now, with their values now. */
function sysctlsBefore(host: Host, shared: readonly HostObject[]): [string, string][] {
  return shared.flatMap((o): [string, string][] => {
    if (o.kind !== 'sysctl') return [];
    try {
      const now = host.readSysctl(o.key);
      return now === o.value ? [] : [[o.key, now]];
    } catch {
      return [];
    }
  });
}

async function ensureAttachmentFirewall(
  host: Host,
  plan: Plan,
  att: AttachmentId,
  undo: UndoStack,
  req: Request,
  fresh: Fresh,
) {
  const fw = plan.firewall;
  if (!fw) return;
  if (fresh.links.length) fresh.firewall = fw;
  const key = attachmentKey(att);
  const addresses = plan.ips.map((ip) => ip.address);
  if (usesPodSets(fw))
    undo.push('remove firewall entries', () => removeAttachments(host, att.network, (k) => k === key));
  const outside = unmatchedAddresses(fw, addresses);
  if (outside.length)
    req.log.warn(
      `${outside.join(', ')}: not in podCIDR (${fw.podCIDRs.join(', ')}), so ipMasq and internal do not apply; add the subnet to podCIDR`,
    );
  await ensureFirewall(host, fw, key, addresses);
}

/** The plan's result; a host link without a fixed MAC reports the one read. */
function resultOf(plan: Plan, snap: Snapshot): Result {
  const interfaces = plan.interfaces.map((i) =>
    i.mac || i.sandbox ? i : { ...i, mac: snap.links.get(i.name)?.address },
  );
  return { interfaces, ips: plan.ips, routes: plan.routes, dns: plan.dns };
}
