// An index from attachment to addresses, so DEL, CHECK and ADD's duplicate test read one small file
// instead of every lease (the reference reads all of them on each call). It lives beside the
// network directories, in <dataDir>/.host-local-index/<network>/, where the reference never looks,
// and it is only ever a hint: every address it names is verified against the lease file.
//
//   buckets/<xx>  lines "<containerID>:<ifname> <ip>[,<ip>…]" for the attachments whose key hashes
//                 to xx (256 buckets: ~40 lines each at 10,000 leases); "<containerID>:" for legacy
//                 leases that hold only a container ID
//   stamp         the state of the lease dir the index was last known to cover: the network dir's
//                 inode and mtime (any file created or removed there changes it), the buckets dir's
//                 inode, and every last_reserved_ip.<n> file (inode, size, mtime, content: the
//                 reference rewrites one on every ADD)
//
// The index is trusted to be complete ("no entry" = "no lease") only while the stamp matches, so a
// lease the reference (or anyone) adds or removes is noticed at our next call. Our own changes remove
// the stamp first and write it back last, so a kill -9 midway (a torn bucket included) leaves no
// stamp. A missing or stale stamp means one rebuild from a full scan of the leases.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isUnwritable } from '../../lib/sys/files.js';
import { LAST_RESERVED_PREFIX, type LeaseDir, type Owner, overwrite, removeIfPresent } from './leases.js';

export const INDEX_DIR = '.host-local-index';
/** last_reserved_ip.<n> files covered by the stamp: at least this many, more if the config has more sets. */
const MIN_STAMPED_SETS = 16;

const ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IFNAME = /^[^/:\s]{1,15}$/;

/** The index key of an owner, or undefined when it cannot be one (callers then scan). */
export function indexKey(o: Owner): string | undefined {
  if (!ID.test(o.containerId) || (o.ifname !== undefined && !IFNAME.test(o.ifname))) return undefined;
  return `${o.containerId}:${o.ifname ?? ''}`;
}

/** FNV-1a, low byte: spreads keys evenly and costs nothing to compute. */
export function bucketOf(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h & 0xff).toString(16).padStart(2, '0');
}

type Bucket = Map<string, string>;

export class AttachmentIndex {
  private readonly buckets: string;
  private readonly stampFile: string;
  /**
   * False once a write failed because the data dir is full (or read-only): the index stays without
   * a stamp, and callers scan the leases instead (leasesOf), so DEL works on a full disk.
   */
  usable = true;

  constructor(
    readonly root: string,
    private readonly leases: LeaseDir,
    private readonly setCount: number,
  ) {
    this.buckets = join(root, 'buckets');
    this.stampFile = join(root, 'stamp');
  }

  /** Addresses recorded for the key (unverified). */
  get(key: string): string[] {
    return this.readBucket(bucketOf(key)).get(key)?.split(',') ?? [];
  }

  /** Records the key's addresses (none: drops the entry). Only between invalidate() and seal(). */
  set(key: string, ips: string[]): void {
    this.guard(() => this.setBucketEntry(key, ips));
  }

  private setBucketEntry(key: string, ips: string[]): void {
    const name = bucketOf(key);
    const bucket = this.readBucket(name);
    if (ips.length) bucket.set(key, [...ips].sort().join(','));
    else if (!bucket.delete(key)) return;
    this.writeBucket(name, bucket);
  }

  /** True when no lease changed behind the index's back since it was last sealed. */
  isCurrent(): boolean {
    try {
      return readFileSync(this.stampFile, 'latin1') === this.fingerprint();
    } catch {
      return false;
    }
  }

  /** Before any change to leases or buckets. */
  invalidate(): void {
    removeIfPresent(this.stampFile);
  }

  /** Once the index covers every lease again. A torn write cannot match a fingerprint, so no rename. */
  seal(): void {
    this.guard(() => writeFileSync(this.stampFile, this.fingerprint(), { mode: 0o600, flag: 'wx' }));
  }

  /** Runs a write; a data dir that cannot take it leaves the index unusable instead of failing the call. */
  private guard(write: () => void): void {
    if (!this.usable) return;
    try {
      write();
    } catch (err) {
      if (!isUnwritable(err)) throw err;
      this.usable = false;
      try {
        this.invalidate();
      } catch {
        // read-only: no stamp can be removed, and none can have been written by this call either
      }
    }
  }

  /** Makes the index match a full scan of the leases; only buckets that differ are written. */
  rebuild(all: Map<string, Owner>): void {
    this.guard(() => this.rebuildBuckets(all));
  }

  private rebuildBuckets(all: Map<string, Owner>): void {
    this.invalidate();
    const wanted = new Map<string, Bucket>();
    for (const [ip, owner] of all) {
      const key = indexKey(owner);
      if (!key) continue;
      const name = bucketOf(key);
      const bucket = wanted.get(name) ?? wanted.set(name, new Map()).get(name)!;
      const ips = bucket.get(key);
      bucket.set(key, ips ? [...ips.split(','), ip].sort().join(',') : ip);
    }
    mkdirSync(this.buckets, { recursive: true, mode: 0o700 });
    for (const name of new Set([...readdirSync(this.buckets), ...wanted.keys()])) {
      const bucket = wanted.get(name) ?? new Map();
      if (serialize(bucket) !== this.readText(name)) this.writeBucket(name, bucket);
    }
    this.seal();
  }

  private readText(name: string): string {
    try {
      return readFileSync(join(this.buckets, name), 'utf8');
    } catch {
      return '';
    }
  }

  private readBucket(name: string): Bucket {
    const bucket: Bucket = new Map();
    for (const line of this.readText(name).split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0) bucket.set(line.slice(0, sp), line.slice(sp + 1));
    }
    return bucket;
  }

  private writeBucket(name: string, bucket: Bucket): void {
    const file = join(this.buckets, name);
    const text = serialize(bucket);
    if (text === '') {
      removeIfPresent(file);
      return;
    }
    mkdirSync(this.buckets, { recursive: true, mode: 0o700 });
    overwrite(file, text, join(this.root, 'scratch.bucket'));
  }

  private fingerprint(): string {
    const dir = statSync(this.leases.dir, { bigint: true, throwIfNoEntry: false });
    const parts = [`${dir?.ino}:${dir?.mtimeNs}`, inode(this.buckets)];
    for (let n = 0; n < Math.max(MIN_STAMPED_SETS, this.setCount); n++) {
      const file = this.leases.path(`${LAST_RESERVED_PREFIX}${n}`);
      const st = statSync(file, { bigint: true, throwIfNoEntry: false });
      if (st) parts.push(`${n}:${st.ino}:${st.size}:${st.mtimeNs}:${readFileSync(file, 'latin1')}`);
    }
    return parts.join('\n');
  }
}

/** One line per key, sorted, so equal contents compare equal as text. */
const serialize = (bucket: Bucket): string =>
  [...bucket]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k} ${v}\n`)
    .join('');

function inode(path: string): string {
  return String(statSync(path, { bigint: true, throwIfNoEntry: false })?.ino ?? '-');
}
