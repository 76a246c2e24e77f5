// The lease store of one network under its lock: reference-format leases plus our attachment index.
// Everything that reads or changes leases runs inside `withStore`, so no two processes (ours or the
// reference's) ever interleave.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isUnwritable, readRegularFile, writeFileAtomic } from '../../lib/sys/files.js';
import { lockExclusive } from '../../lib/sys/flock.js';
import { AttachmentIndex, INDEX_DIR, indexKey } from './attachments.js';
import type { StoreConfig } from './config.js';
import { type Attachment, LeaseDir, LOCK_FILE, type Owner } from './leases.js';

export interface Store {
  leases: LeaseDir;
  index: AttachmentIndex;
}

export const networkDir = (cfg: StoreConfig): string => join(cfg.dataDir, cfg.network);

/**
 * Runs `fn` holding the network's lock, with an index that covers every lease (rebuilt first when
 * someone else changed leases). `trustIndex: false` skips that for callers that scan anyway (GC).
 */
export async function withStore<T>(
  cfg: StoreConfig,
  fn: (s: Store) => T,
  opts = { trustIndex: true },
): Promise<T> {
  const dir = networkDir(cfg);
  const root = join(cfg.dataDir, INDEX_DIR, cfg.network);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  let indexDir = true;
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (err) {
    if (!isUnwritable(err)) throw err;
    indexDir = false;
  }
  const unlock = await lockExclusive(join(dir, LOCK_FILE));
  try {
    const leases = new LeaseDir(dir, join(root, 'scratch'));
    if (cfg.releaseOnReboot && indexDir) releaseEarlierBoot(leases, join(root, BOOT_FILE));
    const index = new AttachmentIndex(root, leases, cfg.setCount);
    index.usable = indexDir;
    if (opts.trustIndex && !index.isCurrent()) index.rebuild(leases.scan());
    return fn({ leases, index });
  } finally {
    unlock();
  }
}

/** Where the store records the boot its leases belong to (beside the index, where the reference never looks). */
const BOOT_FILE = 'boot_id';
const BOOT_ID = '/proc/sys/kernel/random/boot_id';

/**
 * Leases are made for containers, and no container outlives a reboot (a runtime that restores one
 * ADDs it again): the first call after a reboot releases every lease of the boot before, so pods
 * that never got their DEL do not hold addresses for ever (containernetworking/plugins #252,
 * #1196). The store records the boot it last saw; a store without a record (an older version's, or
 * a new one) is taken as this boot's. Runs under the network's lock: concurrent first calls release
 * once.
 */
function releaseEarlierBoot(leases: LeaseDir, file: string): void {
  let now: string;
  try {
    now = readRegularFile(BOOT_ID, 64).trim();
  } catch {
    return; // no /proc: nothing to tell boots apart by
  }
  let recorded: string | undefined;
  try {
    recorded = readRegularFile(file, 64).trim();
  } catch {
    recorded = undefined;
  }
  if (recorded === now) return;
  if (recorded !== undefined) for (const ip of leases.scan().keys()) leases.release(ip);
  try {
    writeFileAtomic(file, now);
  } catch (err) {
    if (!isUnwritable(err)) throw err;
  }
}

const sameAttachment = (o: Owner | undefined, a: Attachment) =>
  o !== undefined && o.containerId === a.containerId.trim() && o.ifname === a.ifname;
const legacyOf = (o: Owner | undefined, a: Attachment) =>
  o !== undefined && o.containerId === a.containerId.trim() && o.ifname === undefined;

/**
 * The addresses leased to an attachment, verified against the lease files. As in the reference,
 * leases naming only the container ID count when none names (containerID, ifname).
 */
export function leasesOf(s: Store, a: Attachment): { ips: string[]; keys: string[] } {
  const exactKey = indexKey({ containerId: a.containerId, ifname: a.ifname });
  const legacyKey = indexKey({ containerId: a.containerId, ifname: undefined });
  if (!exactKey || !legacyKey || !s.index.usable) return scanFor(s, a);
  const exact = s.index.get(exactKey).filter((ip) => sameAttachment(s.leases.read(ip), a));
  if (exact.length) return { ips: exact, keys: [exactKey] };
  const legacy = s.index.get(legacyKey).filter((ip) => legacyOf(s.leases.read(ip), a));
  return { ips: legacy, keys: [exactKey, legacyKey] };
}

/** The slow path for attachments whose names cannot be index entries, and without a usable index. */
function scanFor(s: Store, a: Attachment): { ips: string[]; keys: string[] } {
  const all = [...s.leases.scan()];
  const exact = all.filter(([, o]) => sameAttachment(o, a)).map(([ip]) => ip);
  return { ips: exact.length ? exact : all.filter(([, o]) => legacyOf(o, a)).map(([ip]) => ip), keys: [] };
}
