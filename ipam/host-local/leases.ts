// The reference host-local's on-disk format, byte for byte, in <dataDir>/<network>/:
//   <ip>                  one lease: "<containerID>\r\n<ifname>" (no newline at the end); very old
//                         versions wrote just "<containerID>"
//   last_reserved_ip.<n>  the address range set n handed out last (round-robin resumes after it)
//   lock                  the flock both implementations serialise on
// A lease appears whole or not at all: its content is written to a scratch file outside the
// network dir first and then hard-linked under the address's name; link(2) fails with EEXIST when
// the address is taken, the same test the reference makes with O_CREAT|O_EXCL.
import {
  closeSync,
  constants,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { formatIp, type Ip, parseIp } from '../../lib/base/ip.js';

export const LOCK_FILE = 'lock';
export const LAST_RESERVED_PREFIX = 'last_reserved_ip.';

/** Who holds a lease. `ifname` is undefined for the legacy content holding only a container ID. */
export interface Owner {
  containerId: string;
  ifname: string | undefined;
}

/** An attachment as the spec names it: (container ID, interface name). */
export interface Attachment {
  containerId: string;
  ifname: string;
}

export const leaseContent = (o: Attachment): string => `${o.containerId.trim()}\r\n${o.ifname}`;

/** Reads lease content as the reference compares it: surrounding whitespace trimmed. */
export function parseOwner(content: string): Owner {
  const text = content.trim();
  const cut = text.indexOf('\r\n');
  return cut < 0
    ? { containerId: text, ifname: undefined }
    : { containerId: text.slice(0, cut), ifname: text.slice(cut + 2) };
}

/** A directory entry that is a lease: named by an address in Go's canonical form. */
export function leaseIp(name: string): Ip | undefined {
  const ip = parseIp(name);
  return ip && formatIp(ip) === name ? ip : undefined;
}

export class LeaseDir {
  /**
   * @param dir     <dataDir>/<network>
   * @param scratch a file on the same filesystem, outside `dir`, only written under the lock
   */
  constructor(
    readonly dir: string,
    private readonly scratch: string,
  ) {}

  path = (name: string): string => join(this.dir, name);

  /** The lease's owner, or undefined when the address is free. */
  read(ip: string): Owner | undefined {
    try {
      return parseOwner(readFileSync(this.path(ip), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Takes `ip` for `owner`; false when the address is already leased. */
  reserve(ip: string, owner: Attachment): boolean {
    return this.reserveFirst([ip], owner) !== undefined;
  }

  /**
   * Takes the first free address of `ips` for `owner` and returns it; undefined when all are taken.
   * The scratch file is written once; each candidate then costs one link(2).
   */
  reserveFirst(ips: Iterable<string>, owner: Attachment): string | undefined {
    // A scratch file left by a killed call may be linked to a lease already: unlink, never truncate.
    removeIfPresent(this.scratch);
    const fd = openSync(this.scratch, 'wx', 0o600);
    try {
      writeSync(fd, leaseContent(owner));
    } finally {
      closeSync(fd);
    }
    try {
      for (const ip of ips) if (this.link(ip, owner)) return ip;
      return undefined;
    } finally {
      removeIfPresent(this.scratch);
    }
  }

  private link(ip: string, owner: Attachment): boolean {
    const target = this.path(ip);
    try {
      linkSync(this.scratch, target);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      // Network dir on another filesystem than the index: fall back to the reference's exclusive create.
      if (code === 'EXDEV') return this.createInPlace(target, owner);
      throw err;
    }
  }

  private createInPlace(target: string, owner: Attachment): boolean {
    try {
      writeFileSync(target, leaseContent(owner), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  /** Removes the lease; a missing file is fine (DEL is total). */
  release(ip: string): void {
    removeIfPresent(this.path(ip));
  }

  lastReserved(set: number): Ip | undefined {
    try {
      return parseIp(readFileSync(this.path(`${LAST_RESERVED_PREFIX}${set}`), 'latin1').trim());
    } catch {
      return undefined;
    }
  }

  /**
   * A round-robin hint only: a torn write after a kill costs the round-robin position, nothing
   * else, and so does a write that fails (a full disk must not fail an ADD whose lease is made).
   */
  setLastReserved(set: number, ip: string): void {
    try {
      overwrite(this.path(`${LAST_RESERVED_PREFIX}${set}`), ip, `${this.scratch}.last`);
    } catch {
      // the next ADD starts its search elsewhere; nothing else depends on it
    }
  }

  /** Every lease in the directory: one read per file, what the reference pays on every DEL. */
  scan(): Map<string, Owner> {
    const out = new Map<string, Owner>();
    for (const entry of readdirSync(this.dir, { withFileTypes: true })) {
      if (!entry.isFile() || !leaseIp(entry.name)) continue;
      const owner = this.read(entry.name);
      if (owner) out.set(entry.name, owner);
    }
    return out;
  }

  /** How many directory entries there are (an upper bound on the leases), without reading any. */
  countEntries(): number {
    return readdirSync(this.dir).length;
  }
}

export function removeIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Replaces a small file's content: `scratch` (on the same filesystem, only written under the
 * network's lock, so one fixed name serves) is made anew and renamed over `file`. A symlink or hard
 * link someone put at `file` is replaced, never written through; a call killed midway leaves at
 * most `scratch`, which the next write replaces, and never a stray file beside the leases.
 */
export function overwrite(file: string, text: string, scratch: string): void {
  removeIfPresent(scratch);
  const fd = openSync(
    scratch,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(scratch, file);
}
