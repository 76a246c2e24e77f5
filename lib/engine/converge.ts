// The engine's reads and writes in one netns, through the host: a targeted read of what a plan
// names (cheap, the hot path), a full read (when a targeted one finds something missing), and
// convergence: the differences' fixes written in one batch (three when FDB entries change:
// neighbours, then FDB entries, then routes, so the first packet over a new route finds both).
import { configError } from '../cni/errors.js';
import type { Logger } from '../cni/log.js';
import { randomMac } from '../plan/attachment.js';
import { type Difference, diff } from '../plan/diff.js';
import type { HostObject } from '../plan/model.js';
import { parseSnapshot, type Read, type RouteOwner, readsFor, type Snapshot } from '../plan/state.js';
import { BatchFailure, type Host, isExists, isMissing } from './seam.js';
import { settleAll } from './undo.js';

/**
 * Reads what `objects` name, then runs `writes` in the same `ip` run. Throws MissingObject when a
 * read finds its device gone (nothing after it ran), WriteFailed when a write failed.
 */
export async function readAndWrite(
  host: Host,
  objects: readonly HostObject[],
  owner: RouteOwner | undefined,
  writes: readonly string[][] = [],
  netns?: string,
): Promise<Snapshot> {
  const all = readsFor(objects, owner);
  const reads = all.filter((r) => r.what !== 'fdb');
  const fdbReads = all.filter((r) => r.what === 'fdb');
  try {
    const [answers, fdb] = await settleAll([
      host.batch([...reads.map((r) => r.argv), ...writes], { netns, details: true }),
      readFdb(host, fdbReads, netns),
    ]);
    return withSysctls(host, parseSnapshot([...reads, ...fdbReads], [...answers, ...fdb], owner), objects);
  } catch (err) {
    if (err instanceof MissingObject) throw err;
    const at = err instanceof BatchFailure ? err.at : undefined;
    if (at !== undefined && at < reads.length && isMissing(err))
      throw new MissingObject(reads[at]?.argv.join(' ') ?? '', err);
    if (at !== undefined && at < reads.length) throw err;
    throw new WriteFailed(at === undefined ? undefined : at - reads.length, err);
  }
}

/** A write of readAndWrite failed: `index` is its position among the writes (undefined: unknown, any may have run). */
export class WriteFailed extends Error {
  constructor(
    readonly index: number | undefined,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

/** A targeted read found a device missing; nothing of the batch after it ran. */
export class MissingObject extends Error {
  constructor(
    read: string,
    readonly batch: unknown,
  ) {
    super(`${read}: ${batch instanceof Error ? batch.message : String(batch)}`);
  }
}

/** FDB reads, in one `bridge` run; a device that is missing is a MissingObject. */
async function readFdb(host: Host, reads: readonly Read[], netns?: string): Promise<unknown[][]> {
  if (!reads.length) return [];
  try {
    return await host.batch(
      reads.map((r) => r.argv),
      { netns, tool: 'bridge' },
    );
  } catch (err) {
    if (isMissing(err)) throw new MissingObject('bridge fdb show', err);
    throw err;
  }
}

/** Everything the engine may compare, whatever exists: all links with their addresses, our routes. */
export async function readAll(
  host: Host,
  objects: readonly HostObject[],
  owner: RouteOwner | undefined,
  netns?: string,
): Promise<Snapshot> {
  // Entries of links that do not exist yet cannot be read: only those of existing ones.
  const links = await host.batch([['addr', 'show']], { netns, details: true });
  const all = parseSnapshot([{ what: 'addr', argv: ['addr', 'show'] }], links);
  const rest = readsFor(
    objects.filter((o) => o.kind !== 'link' && o.kind !== 'addr'),
    owner,
  ).filter((r) => r.what === 'route' || all.links.has(r.argv[3] ?? ''));
  const ipReads = rest.filter((r) => r.what !== 'fdb');
  const fdbReads = rest.filter((r) => r.what === 'fdb');
  const [answers, fdb] = await settleAll([
    host.batch(
      ipReads.map((r) => r.argv),
      { netns },
    ),
    readFdb(host, fdbReads, netns),
  ]);
  const snap = parseSnapshot([...ipReads, ...fdbReads], [...answers, ...fdb], owner);
  snap.links = all.links;
  snap.addrs = all.addrs;
  return withSysctls(host, snap, objects);
}

function withSysctls(host: Host, snap: Snapshot, objects: readonly HostObject[]): Snapshot {
  for (const o of objects) {
    if (o.kind !== 'sysctl') continue;
    try {
      snap.sysctls.set(o.key, host.readSysctl(o.key));
    } catch {
      // unreadable: the diff will try to write it
    }
  }
  return snap;
}

/**
 * Makes `objects` exist as described: writes the fixes of every difference, in stages (links,
 * addresses and neighbours; FDB entries; routes), each one process. A device of another kind under
 * a wanted name is a config error. Peer routes that the kernel refuses (the peer is not on-link) are
 * returned, not thrown. A concurrent creator (EEXIST) is tolerated: read again, and converge what
 * is still missing.
 */
export async function converge(
  host: Host,
  objects: readonly HostObject[],
  snap: Snapshot,
  owner: RouteOwner | undefined,
  log: Logger,
  netns?: string,
  retried = false,
): Promise<Difference[]> {
  const diffs = diff(objects, snap, owner, { newMac: randomMac });
  const conflict = diffs.find((d) => d.conflict);
  if (conflict) throw configError(`${conflict.object} ${conflict.problem}; choose another name or remove it`);
  for (const d of diffs) for (const f of d.fixes) if ('sysctl' in f) host.ensureSysctl(...f.sysctl);
  const written = diffs.filter((d) => d.fixes.some((f) => !('sysctl' in f)));
  if (!written.length) return [];
  log.debug('converging', { changes: written.map((d) => `${d.object} ${d.problem}`) });
  try {
    await writeStages(host, written, netns);
    return [];
  } catch (err) {
    if (isExists(err) && !retried)
      return converge(host, objects, await readAll(host, objects, owner, netns), owner, log, netns, true);
    if (!written.some((d) => d.peer)) throw err;
  }
  // Which differences cannot be fixed? Fixes are idempotent, so each runs again on its own.
  const failed: Difference[] = [];
  for (const d of written) {
    try {
      await writeStages(host, [d], netns);
    } catch (err) {
      if (!d.peer) throw err;
      failed.push(d);
    }
  }
  return failed;
}

/** Routes go last: they send traffic, which needs the neighbours and FDB entries already there. */
async function writeStages(host: Host, diffs: readonly Difference[], netns?: string): Promise<void> {
  const fixes = diffs.flatMap((d) => d.fixes);
  const ip = (f: (typeof fixes)[number]) => ('ip' in f ? [f.ip] : []);
  const isRoute = (f: (typeof fixes)[number]) => 'ip' in f && f.ip[0] === 'route';
  const bridge = fixes.flatMap((f) => ('bridge' in f ? [f.bridge] : []));
  const write = async (cmds: readonly string[][], tool?: 'bridge') => {
    if (cmds.length) await host.batch(cmds, { netns, tool });
  };
  if (!bridge.length) return write(fixes.flatMap(ip));
  await write(fixes.filter((f) => !isRoute(f)).flatMap(ip));
  await write(bridge, 'bridge');
  await write(fixes.filter(isRoute).flatMap(ip));
}
