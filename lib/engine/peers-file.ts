// The peersFile, read now: a control plane (the agent) may rewrite it between calls.
import { configError } from '../cni/errors.js';
import { type Peer, type PeerSource, parsePeerSource } from '../plan/peers.js';
import type { Host } from './seam.js';

/** Reads the peersFile now (a control plane may have rewritten it); code 7 when it cannot be read. */
export function readPeerSource(host: Host, inline: Peer[], peersFile: string | undefined): PeerSource {
  if (!peersFile) return { inline, file: undefined, text: undefined };
  let text: string;
  try {
    text = host.readFile(peersFile);
  } catch (err) {
    throw configError(`peersFile "${peersFile}" cannot be read: ${(err as NodeJS.ErrnoException).code}`);
  }
  try {
    return { inline, file: peersFile, text, json: JSON.parse(text) };
  } catch {
    throw configError(`peersFile "${peersFile}" is not valid JSON`);
  }
}

/** Inline peers plus those of peersFile, read and validated now. */
export const loadPeers = (host: Host, inline: Peer[], peersFile: string | undefined): Peer[] =>
  parsePeerSource(readPeerSource(host, inline, peersFile));
