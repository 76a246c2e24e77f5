// The engine's reads and writes in one netns: a targeted read of what a plan names (cheap, the hot
// path), a full read (when a targeted one finds something missing), and convergence: the
// differences' fixes written in one `ip` run.
import { configError } from '../../cni/errors.js';
import type { Logger } from '../../cni/log.js';
import { BatchError, ipBatch, ipJsonBatch, isExists, isNotFound } from '../../sys/ip.js';
import { ensureSysctl, readSysctl } from '../../sys/sysctl.js';
import { randomMac } from '../attachment.js';
import { type Difference, diff } from '../diff.js';
import type { HostObject } from '../model.js';
import { parseSnapshot, type RouteOwner, readsFor, type Snapshot } from '../state.js';

/**
 * Reads what `objects` name, then runs `writes` in the same `ip` run. Throws MissingObject when a
 * read finds its device gone (nothing after it ran), WriteFailed when a write failed.
 */
export async function readAndWrite(
  objects: readonly HostObject[],
  owner: RouteOwner | undefined,
  writes: readonly string[][] = [],
  netns?: string,
): Promise<Snapshot> {
  const reads = readsFor(objects, owner);
  try {
    const answers = await ipJsonBatch<unknown>([...reads.map((r) => r.argv), ...writes], {
      netns,
      details: true,
    });
    return withSysctls(parseSnapshot(reads, answers, owner), objects);
  } catch (err) {
    const at = err instanceof BatchError ? err.failedAt : undefined;
    if (at !== undefined && at < reads.length && isNotFound(err))
      throw new MissingObject(reads[at]?.argv.join(' ') ?? '', err as BatchError);
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
    readonly batch: BatchError,
  ) {
    super(`ip ${read}: ${batch.message}`);
  }
}

/** Everything the engine may compare, whatever exists: all links with their addresses, our routes. */
export async function readAll(
  objects: readonly HostObject[],
  owner: RouteOwner | undefined,
  netns?: string,
): Promise<Snapshot> {
  const reads = [
    { what: 'addr' as const, argv: ['addr', 'show'] },
    ...readsFor(
      objects.filter((o) => o.kind !== 'link' && o.kind !== 'addr'),
      owner,
    ),
  ];
  const answers = await ipJsonBatch<unknown>(
    reads.map((r) => r.argv),
    { netns, details: true },
  );
  return withSysctls(parseSnapshot(reads, answers, owner), objects);
}

function withSysctls(snap: Snapshot, objects: readonly HostObject[]): Snapshot {
  for (const o of objects) {
    if (o.kind !== 'sysctl') continue;
    try {
      snap.sysctls.set(o.key, readSysctl(o.key));
    } catch {
      // unreadable: the diff will try to write it
    }
  }
  return snap;
}

/**
 * Makes `objects` exist as described: writes the fixes of every difference in one `ip` run. A device
 * of another kind under a wanted name is a config error. Peer routes that the kernel refuses (the
 * peer is not on-link) are returned, not thrown. A concurrent creator (EEXIST) is tolerated: read
 * again, and converge what is still missing.
 */
export async function converge(
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
  for (const d of diffs) for (const f of d.fixes) if ('sysctl' in f) ensureSysctl(...f.sysctl);
  const ipDiffs = diffs.filter((d) => d.fixes.some((f) => 'ip' in f));
  if (!ipDiffs.length) return [];
  log.debug('converging', { changes: ipDiffs.map((d) => `${d.object} ${d.problem}`) });
  try {
    await ipBatch(ipCommands(ipDiffs), { netns });
    return [];
  } catch (err) {
    if (isExists(err) && !retried)
      return converge(objects, await readAll(objects, owner, netns), owner, log, netns, true);
    if (!ipDiffs.some((d) => d.peer)) throw err;
  }
  // Which differences cannot be fixed? Fixes are idempotent, so each runs again on its own.
  const failed: Difference[] = [];
  for (const d of ipDiffs) {
    try {
      await ipBatch(ipCommands([d]), { netns });
    } catch (err) {
      if (!d.peer) throw err;
      failed.push(d);
    }
  }
  return failed;
}

const ipCommands = (diffs: readonly Difference[]) =>
  diffs.flatMap((d) => d.fixes.flatMap((f) => ('ip' in f ? [f.ip] : [])));
