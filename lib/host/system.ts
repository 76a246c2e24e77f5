// The engine's host (lib/engine/seam.ts) on this machine: iproute2 and nft processes (lib/sys),
// /proc, flock files and stamps under /run. The one place that reads iproute2's error text, to
// tell the engine structurally what a failed batch met.
import { BatchFailure, type Host } from '../engine/seam.js';
import { findExecutable, readRegularFile } from '../sys/files.js';
import {
  BatchError,
  ipBatch,
  ipJsonBatch,
  ipJsonIfExists,
  ipLinkDelete,
  isExists,
  isNotFound,
} from '../sys/ip.js';
import { holdLock, tryLock } from '../sys/lock.js';
import { hasOwnLink } from '../sys/netns.js';
import { nftApply, nftList } from '../sys/nft.js';
import { hasTool } from '../sys/run.js';
import { ensureSysctl, readSysctl } from '../sys/sysctl.js';
import { hostNote, stamp, sweepStamps } from './stamp.js';

/** What a failed batch met, from iproute2's "Command failed -:N" and its message. */
function asFailure(err: unknown): unknown {
  if (!(err instanceof BatchError)) return err;
  const kind = isExists(err) ? 'exists' : isNotFound(err) ? 'missing' : 'other';
  return new BatchFailure(kind, err.failedAt, err.message, { cause: err });
}

export const systemHost: Host = {
  async batch(commands, opts = {}) {
    try {
      // Reads print one JSON array each; a batch of writes only prints nothing.
      if (!commands.length) {
        await ipBatch([], opts);
        return [];
      }
      return await ipJsonBatch<unknown>(commands, opts);
    } catch (err) {
      throw asFailure(err);
    }
  },
  read: (args, opts = {}) =>
    ipJsonIfExists<unknown>(opts.details ? ['-d', ...args] : args, { netns: opts.netns }),
  deleteLink: (name, netns) => ipLinkDelete(name, { netns }),
  hasLink: hasOwnLink,
  readSysctl,
  ensureSysctl,
  nftApply,
  nftList,
  holdLock,
  tryLock,
  stamp,
  note: hostNote,
  sweepStamps,
  readFile: readRegularFile,
  hasTool,
  findExecutable,
};
