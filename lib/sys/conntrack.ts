// Connection tracking entries, through the `conntrack` tool (conntrack-tools): Node has no netlink
// socket, and a UDP flow that was tracked before a port mapping existed keeps its old translation
// (or none) until its entry is deleted.
import type { Family } from '../base/ip.js';
import { hasTool, run } from './run.js';

const TIMEOUT_MS = 5_000;

/**
 * Deletes the UDP entries whose original destination port is one of `ports`, per family. Lists once
 * per family, then deletes only ports that have entries (usually none). False when the tool is missing.
 */
export async function flushUdpPorts(ports: readonly { family: Family; port: number }[]): Promise<boolean> {
  if (!ports.length) return true;
  if (!hasTool('conntrack')) return false;
  for (const family of [4, 6] as const) {
    const wanted = new Set(ports.filter((p) => p.family === family).map((p) => p.port));
    if (!wanted.size) continue;
    const fam = family === 4 ? 'ipv4' : 'ipv6';
    const listed = await run('conntrack', ['-L', '-p', 'udp', '-f', fam], {
      allowFail: true,
      timeoutMs: TIMEOUT_MS,
    });
    const present = new Set<number>();
    // The first dport= of a line is the original direction's.
    for (const m of listed.stdout.matchAll(/^.*?\bdport=(\d+)/gm)) present.add(Number(m[1]));
    // Exit 1 when the entries are gone meanwhile ("0 flow entries"): nothing left to do.
    for (const port of [...wanted].filter((p) => present.has(p)))
      await run('conntrack', ['-D', '-p', 'udp', '-f', fam, '--orig-port-dst', String(port)], {
        allowFail: true,
        timeoutMs: TIMEOUT_MS,
      });
  }
  return true;
}
