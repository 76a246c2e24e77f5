// Digests of what this host last applied for a network, so a call can skip rewriting state that
// has not changed: the nft rules, the routes and entries to other hosts; and notes of facts about the
// host that a call may reuse for a while (the uplink). Kept on tmpfs (gone at reboot, like the
// state) per network and netns (netns "hosts" on one machine share /run), named by an id no other
// netns of this boot has had (ownNetnsId: its inode and cookie), so a netns that reuses a dead
// one's inode never takes the dead one's stamps for its own. Stamps of a netns that is gone are
// swept: those of an earlier netns with our inode when we first stamp, all of them on GC.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import type { HostNote, Stamp, StampKind } from '../engine/seam.js';
import { networkTag } from '../plan/attachment.js';
import { addon } from '../sys/addon.js';
import { crypto } from '../sys/builtins.js';
import { readRegularFile, writeFileAtomic } from '../sys/files.js';
import { liveNetnsInodes, ownNetnsId } from '../sys/netns.js';

const STAMP_DIR = '/run/cni-suite';

export function stamp(network: string, kind: StampKind): Stamp {
  const netns = ownNetnsId();
  const file = netns ? `${STAMP_DIR}/${networkTag(network)}-${netns}.${kind}` : undefined;
  return {
    matches: (content, maxAgeMs) => file !== undefined && readStamp(file, maxAgeMs) === digest(content),
    record: (content) => {
      if (!file) return;
      try {
        if (!existsSync(file)) sweepStamps(false);
        writeFileAtomic(file, digest(content));
      } catch {
        // read-only /run: always take the full path
      }
    },
    forget: () => forgetFile(file),
  };
}

/**
 * A digest of what was applied. Native: the content holds the peers file's text, and hashing its
 * 1000 peers in JavaScript (shortHash) took ≈ 13 ms of an ADD. The addon's (native/digest.c) costs
 * no module load; node:crypto's SHA-256 without it (≈ 10 ms to load). The two differ: a stamp
 * written by one and read by the other is a miss, and the call does the full work once.
 */
function digest(content: string): string {
  const native = addon();
  return native ? native.digest(content) : crypto().hash('sha256', content).slice(0, 32);
}

function readStamp(file: string, maxAgeMs = Number.POSITIVE_INFINITY, maxBytes = 64): string | undefined {
  try {
    if (maxAgeMs !== Number.POSITIVE_INFINITY && Date.now() - statSync(file).mtimeMs > maxAgeMs)
      return undefined;
    return readRegularFile(file, maxBytes);
  } catch {
    return undefined;
  }
}

/**
 * A fact about this host (netns) that calls may reuse for a while instead of reading it again with a
 * process start, such as what `ip` said of the uplink. Unlike a stamp it keeps the content (≤ 4 KiB).
 */
export function hostNote(name: string): HostNote {
  const netns = ownNetnsId();
  const file = netns ? `${STAMP_DIR}/${encodeURIComponent(name)}-${netns}.note` : undefined;
  return {
    read: (maxAgeMs) => (file ? readStamp(file, maxAgeMs, 4096) : undefined),
    write: (content) => {
      if (!file) return;
      try {
        if (!existsSync(file)) sweepStamps(false);
        writeFileAtomic(file, content);
      } catch {
        // read-only /run: always read afresh
      }
    },
    forget: () => forgetFile(file),
  };
}

function forgetFile(file: string | undefined): void {
  try {
    if (file) rmSync(file, { force: true });
  } catch {
    // read-only /run: nothing was written either
  }
}

/** A stamp's or note's file name: what, then "-<inode>-<cookie>.<kind>" of its netns. */
const STAMP_FILE = /-(\d+)-(\d+)\.(?:nft|podsets|peers|note)$/;
/** The names earlier builds used, keyed by the inode alone. */
const INODE_ONLY_FILE = /-\d+\.(?:nft|podsets|peers|note)$/;

/**
 * Removes the stamps and notes of network namespaces that are gone: those of an earlier netns that
 * had this one's inode, those named by the inode alone (earlier builds), and with `everyGone`, every
 * one whose inode no live netns has (see liveNetnsInodes). Best effort.
 */
export function sweepStamps(everyGone: boolean): void {
  const id = ownNetnsId();
  if (!id) return;
  const [ino] = id.split('-');
  const live = everyGone ? liveNetnsInodes() : undefined;
  let names: string[];
  try {
    names = readdirSync(STAMP_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    const m = STAMP_FILE.exec(name);
    const gone = m
      ? (m[1] === ino && `${m[1]}-${m[2]}` !== id) || (live !== undefined && !live.has(Number(m[1])))
      : INODE_ONLY_FILE.test(name);
    if (gone) forgetFile(`${STAMP_DIR}/${name}`);
  }
}
