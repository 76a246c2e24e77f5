// A simulated cluster for bridge-route: hosts on an underlay, each owning a pod subnet
// 10.244.<n>.0/24, peers listing every host, an "outside" netns; pods attached through the built
// plugin run inside their host's netns. Shared by the e2e tests and the demo.
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Host, Lab, type Netns } from './lab.ts';
import { BIN, callPlugin, type PluginRun } from './plugin.ts';

export const CLUSTER_CIDR = '10.244.0.0/16';

/**
 * Dates a host's stamps of applied nft rules (`nft`: /run/cni-suite/<network>-<netns inode>-<netns cookie>.nft) or
 * its notes (`note`: what ADD read of the uplink) back by `ms` (the time they are trusted and a
 * second: then its next ADD writes the rules, or reads the uplink, again). The helpers import
 * nothing from lib/: the bench runs them under plain Node, which resolves no `.js` to `.ts`.
 */
export function ageStamps(host: { name: string }, kind: 'nft' | 'note', ms: number): void {
  const ino = statSync(`/run/netns/${host.name}`).ino;
  const past = new Date(Date.now() - ms);
  for (const f of readdirSync('/run/cni-suite').filter((f) => new RegExp(`-${ino}-\\d+\\.${kind}$`).test(f)))
    utimesSync(join('/run/cni-suite', f), past, past);
}

/** The lease files host-local keeps for `network` on `host` (not its lock and bookkeeping files). */
export function leaseFiles(host: { dataDir: string }, network = 'podnet'): string[] {
  return readdirSync(join(host.dataDir, network)).filter(
    (f) => f !== 'lock' && !f.startsWith('last_reserved_ip.') && !f.startsWith('.'),
  );
}

export interface ClusterHost extends Host {
  podCIDR: string;
  dataDir: string;
}

export interface Pod extends Netns {
  host: ClusterHost;
  id: string;
  ifname: string;
  ip: string;
  result: Record<string, unknown>;
}

export interface ClusterOptions {
  hosts?: number;
  /** Extra or overriding config keys for every network config. */
  conf?: Record<string, unknown>;
  /** CNI_PATH for IPAM lookup; ours first by default. */
  cniPath?: string;
  plugin?: string;
  /** 'routed': every host on its own subnet behind a router (no shared L2 segment). */
  underlay?: 'switch' | 'routed';
  /**
   * The config names no pod subnet (host-local's range comes from `runtimeConfig.ipRanges`, peers
   * list only the other hosts), so the firewall keeps each pod's addresses in the pod sets.
   */
  podSets?: boolean;
  /** Extra env for every plugin call (CNI_SUITE_NO_ADDON). */
  env?: Record<string, string>;
}

export class Cluster {
  readonly hosts: ClusterHost[] = [];
  outside!: Host;
  readonly lab: Lab;
  readonly opts: ClusterOptions;
  private readonly dirs: string[] = [];

  private constructor(lab: Lab, opts: ClusterOptions) {
    this.lab = lab;
    this.opts = opts;
  }

  static async create(t: { teardown(fn: () => unknown): void }, opts: ClusterOptions = {}): Promise<Cluster> {
    const lab = await Lab.create(t);
    const c = new Cluster(lab, opts);
    t.teardown(() => c.removeDirs());
    const routed = opts.underlay === 'routed';
    if (!routed) c.outside = await lab.outside();
    for (let i = 1; i <= (opts.hosts ?? 2); i++) {
      const host = routed ? await lab.routedHost(`h${i}`) : await lab.host(`h${i}`);
      const dataDir = mkdtempSync(join(tmpdir(), `cs-ipam-h${i}-`));
      c.dirs.push(dataDir);
      c.hosts.push({ ...host, podCIDR: `10.244.${i}.0/24`, dataDir });
    }
    if (routed) c.outside = lab.routerHost();
    return c;
  }

  /** The network config a host's runtime would hold. */
  conf(host: ClusterHost, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const ranges = [[{ subnet: host.podCIDR }]];
    const named = !this.opts.podSets;
    const runtimeConfig = {
      ...(named ? {} : { ipRanges: ranges }),
      ...(extra.runtimeConfig as Record<string, unknown> | undefined),
    };
    return {
      cniVersion: '1.0.0',
      name: 'podnet',
      type: this.opts.plugin ?? 'bridge-route',
      clusterCIDR: CLUSTER_CIDR,
      peers: this.hosts
        .filter((h) => named || h !== host)
        .map((h) => ({ name: h.name, nodeIP: h.ip, podCIDR: h.podCIDR })),
      ipam: { type: 'host-local', ...(named ? { ranges } : {}), dataDir: host.dataDir },
      ...this.opts.conf,
      ...extra,
      ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    };
  }

  /** Calls the plugin for an attachment of `pod` inside its host's netns. */
  call(
    host: ClusterHost,
    command: string,
    pod: { id: string; path: string; ifname: string },
    conf = this.conf(host),
  ): Promise<PluginRun> {
    return callPlugin(this.opts.plugin ?? 'bridge-route', conf, {
      command,
      containerId: pod.id,
      netns: pod.path,
      ifname: pod.ifname,
      hostNetns: host.name,
      path: this.opts.cniPath ?? process.env.CNI_TEST_PATH ?? `${BIN}:/usr/lib/cni`,
      env: this.opts.env,
    });
  }

  /** A new container netns on `host`, attached with ADD; throws with the plugin's error on failure. */
  async addPod(host: ClusterHost, name: string, conf = this.conf(host)): Promise<Pod> {
    const ns = await this.lab.container(name);
    const pod = { ...ns, id: `${this.lab.prefix}-${name}`, ifname: 'eth0' };
    const r = await this.call(host, 'ADD', pod, conf);
    if (r.exitCode !== 0 || !r.json) throw new Error(`ADD ${name} failed: ${r.stdout} ${r.stderr}`);
    const ips = r.json.ips as { address: string }[];
    return { ...pod, host, ip: ips?.[0]?.address.split('/')[0] ?? '', result: r.json };
  }

  private removeDirs(): void {
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
