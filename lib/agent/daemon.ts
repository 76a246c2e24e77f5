// `cni-suite agent`: claims this host's subnet, then keeps the peers file, the conflist and the
// network's shared state (routes, tunnels, FDB and neighbour entries) in step with the hosts in
// etcd. Level-triggered: any watch event, reconnect or timer leads to one `sync`, which lists every
// claim and converges from that, so a missed or repeated event changes nothing.
import { existsSync } from 'node:fs';
import type { Lease, Watcher } from 'etcd3';
import { ipFamily } from '../base/ip.js';
import { decodeStdin, parseNetConf, parseVersion } from '../cni/config.js';
import type { Logger } from '../cni/log.js';
import type { Reconcile } from '../engine/index.js';
import { readUplink } from '../engine/uplink.js';
import { systemHost } from '../host/system.js';
import { loadReconcile } from '../registry.js';
import { claimSubnet, readRemembered, remember, stateFile } from './claim.js';
import { agentMetrics, type Readiness, serveHealth } from './health.js';
import { agentLogger } from './log.js';
import {
  type ClusterNetwork,
  conflist,
  conflistText,
  type NodeRecord,
  peersFileText,
  subnetKey,
  subnetsPrefix,
} from './network.js';
import { AgentConfigError, type AgentOptions } from './options.js';
import { writeIfChanged } from './outputs.js';
import { type Client, connect, contactError, type Listing, listClaims, readNetwork } from './store.js';

/** A full sync this often even without events: a safety net, not the mechanism. */
const RESYNC_MS = 60_000;
/** Events arriving together (a host's join is one put) are taken in one sync. */
const DEBOUNCE_MS = 20;
const MAX_BACKOFF_MS = 10_000;

/** Runs until SIGTERM/SIGINT (exit 0) or `agent leave` (exit 0). Start-up errors throw. */
export async function runDaemon(o: AgentOptions): Promise<number> {
  const log = agentLogger({ network: o.network, node: o.nodeName });
  const nodeIP = o.nodeIP ?? (await defaultNodeIP());
  const client = connect(o.etcd);
  const net = await firstContact(client, o);
  const reconcile = await loadReconcile(net.plugin.type);
  if (!reconcile) throw new AgentConfigError(`plugin ${net.plugin.type} cannot be run by the agent`);
  const agent = new Agent(o, client, net, nodeIP, reconcile, log);
  // Served from the start: /readyz says "joining" until the node holds its subnet.
  const health = o.health && (await serveHealth(o.health, () => agent.readiness(), agent.metrics));
  if (o.health) log.info('health endpoints', { address: `${o.health.host}:${o.health.port}` });
  try {
    await agent.join();
    return await agent.run();
  } finally {
    health?.close();
  }
}

async function defaultNodeIP(): Promise<string> {
  const v4 = (await readUplink(systemHost)).addrs.find((a) => ipFamily(a) === 4);
  if (!v4)
    throw new AgentConfigError(
      'nodeIP (--node-ip) is not set, and this host has no default route with an IPv4 address to take it from',
    );
  return v4.split('/')[0]!;
}

/** The network config, read at start: the first call, so an unreachable etcd fails here, named. */
async function firstContact(client: Client, o: AgentOptions): Promise<ClusterNetwork> {
  let net: ClusterNetwork | undefined;
  try {
    net = await readNetwork(client, o.prefix);
  } catch (err) {
    throw contactError(err, o.etcd);
  }
  if (!net)
    throw new AgentConfigError(
      `etcd has no network config at ${o.prefix}/config: run "cni-suite agent init" once for the cluster`,
    );
  return net;
}

class Agent {
  private lease: Lease;
  private record!: NodeRecord;
  private readonly state: string;
  private peers = new Map<string, NodeRecord>();
  /** The peers file changed since the last reconcile that succeeded (or none ran yet). */
  private unreconciled = true;
  private etcdUp = true;
  private watcher: Watcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  /** Set while the agent runs (see run()); cleared once it stops. */
  private exit: ((code: number) => void) | undefined;
  /** The conflist and peers file have been written (or found as they should be) once. */
  private written = false;
  /** Why the last reconcile failed; undefined once one succeeded. */
  private reconcileFailed: string | undefined;
  /** Why the last write of an output failed; undefined once one succeeded. */
  private writeFailed: string | undefined;
  /** When etcd last renewed our lease (ms, Date.now()). */
  private leaseRenewed = Date.now();
  readonly metrics = agentMetrics(() =>
    this.record ? this.o.leaseTTL - (Date.now() - this.leaseRenewed) / 1000 : undefined,
  );

  constructor(
    private readonly o: AgentOptions,
    private readonly client: Client,
    private readonly net: ClusterNetwork,
    private readonly nodeIP: string,
    private readonly reconcileNetwork: Reconcile,
    private readonly log: Logger,
  ) {
    this.state = stateFile(o.dataDir, o.network);
    this.lease = this.newLease();
  }

  /** What /readyz says: ready once pods can be wired here with the cluster's routes. */
  readiness(): Readiness {
    if (!this.record) return { ready: false, reason: 'joining: no subnet claimed yet' };
    if (this.writeFailed) return { ready: false, reason: `cannot write ${this.writeFailed}` };
    if (!this.written) return { ready: false, reason: 'the conflist and peers file are not written yet' };
    if (this.reconcileFailed)
      return { ready: false, reason: `the last reconcile failed: ${this.reconcileFailed}` };
    if (this.unreconciled) return { ready: false, reason: 'the peers file is not reconciled yet' };
    return { ready: true };
  }

  /** Claims the subnet (the remembered one if still free or ours), writes the outputs and
   *  reconciles once: "joined" means the conflist is ready for pods. */
  async join(): Promise<void> {
    try {
      await this.claim(readRemembered(this.state));
    } catch (err) {
      await this.lease.revoke().catch(() => {}); // no subnet, no lease left behind
      throw err;
    }
    await this.sync();
    this.log.info('joined', { podCIDR: this.record.podCIDR, nodeIP: this.nodeIP, conflist: this.o.conflist });
  }

  /** Watches the claims until stopped; resolves to the exit status. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.exit = resolve;
    });
    for (const sig of ['SIGTERM', 'SIGINT'] as const)
      process.once(sig, () => {
        this.log.info('stopping', { signal: sig });
        void this.stop(0);
      });
    const resync = setInterval(() => this.schedule(0), RESYNC_MS);
    void done.then(() => clearInterval(resync));
    void this.watch();
    return done;
  }

  private newLease(): Lease {
    const lease = this.client.lease(this.o.leaseTTL);
    this.leaseRenewed = Date.now();
    lease.on('keepaliveSucceeded', () => {
      if (this.lease === lease) this.leaseRenewed = Date.now();
    });
    lease.on('lost', (err) => {
      if (this.lease !== lease || !this.exit) return;
      this.log.warn('lease lost', { error: err.message, action: 'claiming again' });
      this.lease = this.newLease();
      this.schedule(0);
    });
    return lease;
  }

  private async claim(remembered: string | undefined): Promise<void> {
    const before = this.record?.podCIDR;
    this.record = await claimSubnet({
      client: this.client,
      prefix: this.o.prefix,
      net: this.net,
      name: this.o.nodeName,
      nodeIP: this.nodeIP,
      lease: this.lease,
      remembered,
    });
    remember(this.state, this.record.podCIDR);
    if (before && before !== this.record.podCIDR)
      this.log.warn('subnet changed', {
        why: 'ours was taken while we were away',
        was: before,
        podCIDR: this.record.podCIDR,
      });
  }

  private async watch(): Promise<void> {
    try {
      const listing = await listClaims(this.client, this.o.prefix);
      this.watcher = await this.client
        .watch()
        .prefix(subnetsPrefix(this.o.prefix))
        .startRevision(String(BigInt(listing.revision) + 1n))
        .create();
    } catch (err) {
      this.etcdDown(err);
      setTimeout(() => void this.watch(), this.backoff()).unref();
      return;
    }
    this.watcher
      .on('put', () => this.schedule(DEBOUNCE_MS))
      .on('delete', () => this.schedule(DEBOUNCE_MS))
      .on('disconnected', (err) => this.etcdDown(err))
      .on('connected', () => {
        this.etcdBack();
        this.schedule(0); // events may have been compacted away meanwhile: list again
      });
    this.schedule(0); // anything between the first sync and the watch
  }

  private schedule(delayMs: number): void {
    if (!this.exit || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.kick();
    }, delayMs);
  }

  /** One sync at a time; a request during one runs another right after. */
  private async kick(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = this.sync().then(
      () => {
        this.failures = 0;
      },
      (err) => {
        if (err instanceof LocalStepError)
          this.log.error(`${err.step} failed`, { error: err.message, action: 'retrying' });
        else this.etcdDown(err);
        this.failures++;
        this.schedule(this.backoff());
      },
    );
    await this.syncing;
    this.syncing = undefined;
    if (this.again) {
      this.again = false;
      this.schedule(0);
    }
  }

  private backoff(): number {
    return Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.failures, 6));
  }

  /** Lists the claims, repairs ours if it is gone, writes the outputs, reconciles on change. */
  private async sync(): Promise<void> {
    let listing = await listClaims(this.client, this.o.prefix);
    this.etcdBack();
    const own = await this.checkOwnClaim(listing);
    if (own === 'left') return;
    if (own === 'claimed again') listing = await listClaims(this.client, this.o.prefix);
    const records = [...listing.claims.values()].flatMap((c) => (c.record ? [c.record] : []));
    if (this.write(this.o.peersFile, peersFileText(records, this.o.nodeName))) this.unreconciled = true;
    const inputs = {
      network: this.o.network,
      podCIDR: this.record.podCIDR,
      peersFile: this.o.peersFile,
      ipamDataDir: this.o.ipamDataDir,
    };
    if (this.write(this.o.conflist, conflistText(this.net, inputs)))
      this.log.info('conflist written', { path: this.o.conflist });
    this.written = true;
    this.logPeerChanges(records);
    if (this.unreconciled) await this.reconcile(inputs);
  }

  /** writeIfChanged, its failure (a full or read-only disk) reported as this host's, not etcd's. */
  private write(path: string, text: string): boolean {
    try {
      const changed = writeIfChanged(path, text);
      this.writeFailed = undefined;
      return changed;
    } catch (err) {
      this.writeFailed = `${path}: ${(err as Error).message}`;
      throw new LocalStepError('write', this.writeFailed);
    }
  }

  private ownKey = () => subnetKey(this.o.prefix, this.record.podCIDR);

  /**
   * Our key should hold our record on our current lease. If not (the lease expired while etcd was
   * away, someone deleted the key, a restarted agent has a new lease), claim again. After `agent
   * leave` (the state file is gone) the agent stops instead.
   */
  private async checkOwnClaim(listing: Listing): Promise<'held' | 'claimed again' | 'left'> {
    const mine = listing.claims.get(this.ownKey());
    const lease = await this.lease.grant();
    if (mine?.record?.name === this.o.nodeName && mine.record.nodeIP === this.nodeIP && mine.lease === lease)
      return 'held';
    if (!existsSync(this.state)) {
      this.log.info('left', { podCIDR: this.record.podCIDR, why: 'the subnet was released (agent leave)' });
      void this.stop(0);
      return 'left';
    }
    await this.claim(this.record.podCIDR);
    return 'claimed again';
  }

  private logPeerChanges(records: NodeRecord[]): void {
    const now = new Map(records.filter((r) => r.name !== this.o.nodeName).map((r) => [r.podCIDR, r]));
    for (const [cidr, r] of now)
      if (this.peers.get(cidr)?.name !== r.name || this.peers.get(cidr)?.nodeIP !== r.nodeIP)
        this.log.info('peer added', { peer: r.name, nodeIP: r.nodeIP, podCIDR: cidr });
    for (const [cidr, r] of this.peers)
      if (now.get(cidr)?.name !== r.name) this.log.info('peer removed', { peer: r.name, podCIDR: cidr });
    this.peers = now;
    this.metrics.peers.set(now.size);
  }

  /** The plugin's shared state to the peers file just written, with the config a pod ADD reads. */
  private async reconcile(inputs: Parameters<typeof conflist>[1]): Promise<void> {
    const doc = conflist(this.net, inputs) as { cniVersion: string; name: string; plugins: object[] };
    const stdin = JSON.stringify({ cniVersion: doc.cniVersion, name: doc.name, ...doc.plugins[0] });
    const raw = decodeStdin(stdin);
    const started = performance.now();
    try {
      await this.reconcileNetwork(parseNetConf(raw, parseVersion(raw), stdin), this.log);
    } catch (err) {
      this.metrics.reconcileErrors.inc();
      this.reconcileFailed = (err as Error)?.message ?? String(err);
      throw new LocalStepError('reconcile', err);
    } finally {
      this.metrics.reconcileSeconds.observe((performance.now() - started) / 1000);
    }
    this.reconcileFailed = undefined;
    this.unreconciled = false;
    this.log.info('reconciled', { ms: Math.round(performance.now() - started), peers: this.peers.size });
  }

  private etcdDown(err: unknown): void {
    this.metrics.etcdUp.set(0);
    if (!this.etcdUp) return;
    this.etcdUp = false;
    this.log.warn('etcd unreachable', {
      error: (err as Error)?.message,
      action: 'keeping the last known peers',
    });
  }

  private etcdBack(): void {
    this.metrics.etcdUp.set(1);
    if (this.etcdUp) return;
    this.etcdUp = true;
    this.log.info('etcd back');
  }

  /** Leaves the data plane and the claim as they are (the lease keeps the subnet for its TTL). */
  private async stop(code: number): Promise<void> {
    const resolve = this.exit;
    if (!resolve) return;
    this.exit = undefined;
    clearTimeout(this.timer);
    await this.syncing;
    this.lease.release();
    await Promise.race([this.watcher?.cancel(), new Promise((r) => setTimeout(r, 1000))]);
    this.client.close();
    resolve(code);
  }
}

/** A step on this host failed (not etcd): logged as "<step> failed", retried with backoff. */
class LocalStepError extends Error {
  readonly step: string;
  constructor(step: string, cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
    this.step = step;
  }
}
