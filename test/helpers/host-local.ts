// Calling host-local (ours or the Go reference) the way a runtime does, and reading its data dir.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin } from './plugin.js';

export const OURS = bin('host-local');
export const REFERENCE = '/usr/lib/cni/host-local';
export const haveReference = existsSync(REFERENCE);

export interface HlCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';
  containerId?: string;
  ifname?: string;
  netns?: string;
  args?: string;
  /** Extra env (CNI_SUITE_NO_ADDON, PATH). */
  env?: Record<string, string>;
}

export interface HlRun {
  code: number;
  stdout: string;
  json: Record<string, unknown> | undefined;
}

/** A network config using host-local with `ipam` merged over {type, dataDir}. */
export function hlConf(dataDir: string, ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: 'hlnet',
    type: 'host-local',
    ...extra,
    ipam: { type: 'host-local', dataDir, ...ipam },
  };
}

/** Spawns `file` with CNI env and the config on stdin (child_process: cheap under 50 parallel calls). */
export function runHl(file: string, conf: unknown, call: HlCall): Promise<HlRun> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: call.command,
    CNI_PATH: '/usr/lib/cni',
  };
  if (call.containerId) {
    env.CNI_CONTAINERID = call.containerId;
    env.CNI_IFNAME = call.ifname ?? 'eth0';
  }
  if (call.netns) env.CNI_NETNS = call.netns;
  if (call.args) env.CNI_ARGS = call.args;
  Object.assign(env, call.env);
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: out,
        json: out.trim() ? JSON.parse(out) : undefined,
      }),
    );
    child.stdin.end(typeof conf === 'string' ? conf : JSON.stringify(conf));
  });
}

/** Runs `jobs` with at most `limit` in flight; resolves to their results in order. */
export async function pool<T>(limit: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

/** The file names in <dataDir>/<network>, sorted. */
export function networkFiles(dataDir: string, network = 'hlnet'): string[] {
  const dir = join(dataDir, network);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Lease files (named by an address) and their raw content. */
export function leases(dataDir: string, network = 'hlnet'): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of networkFiles(dataDir, network)) {
    if (name === 'lock' || name.startsWith('last_reserved_ip.')) continue;
    out.set(name, readFileSync(join(dataDir, network, name), 'utf8'));
  }
  return out;
}

/** The first address of a result at any cniVersion, without its prefix. */
export function firstAddress(result: Record<string, unknown> | undefined): string | undefined {
  const ips = result?.ips as { address: string }[] | undefined;
  const legacy = (result?.ip4 ?? result?.ip6) as { ip: string } | undefined;
  return (ips?.[0]?.address ?? legacy?.ip)?.split('/')[0];
}

/** Every address (with prefix) of a cniVersion ≥ 0.3.0 result. */
export function addresses(result: Record<string, unknown> | undefined): string[] {
  return ((result?.ips ?? []) as { address: string }[]).map((i) => i.address);
}
