// Digests of what this host last applied for a network, so a call can skip rewriting state that
// has not changed: the nft rules, the routes and entries to other hosts. Kept on tmpfs (gone at
// reboot, like the state) per network and netns (netns "hosts" on one machine share /run).
import { statSync } from 'node:fs';
import { crypto } from '../sys/builtins.js';
import { readRegularFile, writeFileAtomic } from '../sys/files.js';
import { ownNetnsId } from '../sys/netns.js';
import { networkTag } from './attachment.js';

const STAMP_DIR = '/run/cni-suite';

/** nft: the network's rules; podsets: whether they read the pod sets; peers: routes and entries. */
export type StampKind = 'nft' | 'podsets' | 'peers';

export interface Stamp {
  /** True when `content` is what was last applied (and stamped), at most `maxAgeMs` ago. */
  matches(content: string, maxAgeMs?: number): boolean;
  /** Records `content` as applied. Best effort: without a stamp the next call does the full work. */
  record(content: string): void;
}

export function stamp(network: string, kind: StampKind): Stamp {
  const netns = ownNetnsId();
  const file = netns ? `${STAMP_DIR}/${networkTag(network)}-${netns}.${kind}` : undefined;
  return {
    matches: (content, maxAgeMs) => file !== undefined && readStamp(file, maxAgeMs) === digest(content),
    record: (content) => {
      if (!file) return;
      try {
        writeFileAtomic(file, digest(content));
      } catch {
        // read-only /run: always take the full path
      }
    },
  };
}

/**
 * A digest of what was applied. Native: the content holds the peers file's text, and hashing its
 * 1000 peers in JavaScript (shortHash) took ≈ 13 ms of an ADD.
 */
const digest = (content: string): string => crypto().hash('sha256', content).slice(0, 32);

function readStamp(file: string, maxAgeMs = Number.POSITIVE_INFINITY): string | undefined {
  try {
    if (maxAgeMs !== Number.POSITIVE_INFINITY && Date.now() - statSync(file).mtimeMs > maxAgeMs)
      return undefined;
    return readRegularFile(file, 64);
  } catch {
    return undefined;
  }
}
