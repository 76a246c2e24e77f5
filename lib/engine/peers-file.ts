// The peersFile, read now: a control plane (the agent) may rewrite it between calls.
import { configError } from '../cni/errors.js';
import type { Peer, PeerSource } from '../plan/peers.js';
import type { Host } from './seam.js';

/**
 * Reads the peersFile now (a control plane may have rewritten it); code 7 when it cannot be read.
 * One that does not exist yet is `missing` (see PeerSource): a pod may start on a node whose agent
 * has not written it, and the agent's reconcile adds the routes to other hosts once it has.
 */
export function readPeerSource(host: Host, inline: Peer[], peersFile: string | undefined): PeerSource {
  if (!peersFile) return { inline, file: undefined, text: undefined };
  let text: string;
  try {
    text = host.readFile(peersFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { inline, file: peersFile, text: undefined, missing: true };
    throw configError(`peersFile "${peersFile}" cannot be read: ${code}`);
  }
  try {
    return { inline, file: peersFile, text, json: JSON.parse(text) };
  } catch {
    throw configError(`peersFile "${peersFile}" is not valid JSON`);
  }
}

/** What a call says while the peersFile does not exist yet. */
export const peersFileMissing = (src: PeerSource): string =>
  `peersFile "${src.file}" does not exist yet (has cni-suite agent written it?): routes to other hosts are left as they are`;
