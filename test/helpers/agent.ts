// The agent's test bed: a real etcd (Debian's etcd-server) in an "etcd host" netns on the lab's
// underlay, with its data in a temp dir, and `cni-suite agent` processes in host netns, each with
// its own files (the hosts share this machine's filesystem). Log lines are parsed as they come.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type Host, inNs, ip, type Lab } from './lab.ts';
import { BIN, bin, ROOT, runChain } from './plugin.ts';

export const AGENT_EXAMPLE = join(ROOT, 'conf-examples/agent.json');
const UNIT_EXAMPLE = join(ROOT, 'conf-examples/cni-suite-agent.service');

/**
 * The agent's arguments as the example systemd unit's ExecStart gives them, with the example
 * settings file's installed path swapped for the example itself; throws if the unit does not run
 * the installed executable's agent.
 */
export function unitAgentArgs(): string[] {
  const line = /^ExecStart=(.*)$/m.exec(readFileSync(UNIT_EXAMPLE, 'utf8'))?.[1] ?? '';
  const [exe, word, ...args] = line.trim().split(/\s+/);
  if (exe !== '/opt/cni/bin/cni-suite' || word !== 'agent')
    throw new Error(`${UNIT_EXAMPLE}: ExecStart does not run /opt/cni/bin/cni-suite agent: ${line}`);
  return args.map((a) => (a === '/etc/cni-suite/agent.json' ? AGENT_EXAMPLE : a));
}

/** A CA, a server certificate for `ip` and a client certificate, as PEM files in `dir`. */
export interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

async function makePki(dir: string, ip: string): Promise<Pki> {
  const f = (name: string) => join(dir, name);
  const ssl = (args: string[]) => execa('openssl', args, { cwd: dir });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ssl([
    'req',
    '-x509',
    ...key,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=cs-test-ca',
  ]);
  for (const [name, ext] of [
    ['server', `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth`],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    await ssl(['req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    await ssl([
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`],
    ]);
  }
  return {
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
  };
}

export class Etcd {
  private proc: ChildProcess | undefined;
  readonly url: string;
  /** Set by enableAuth: etcdctl then logs in as root. */
  private user: string | undefined;

  readonly host: Host;
  readonly dataDir: string;
  /** With TLS: clients must present a certificate signed by pki.ca. */
  readonly pki: Pki | undefined;

  // No parameter properties: the bench runs this file with Node's type stripping.
  private constructor(host: Host, dataDir: string, pki: Pki | undefined) {
    this.host = host;
    this.dataDir = dataDir;
    this.pki = pki;
    this.url = `${pki ? 'https' : 'http'}://${host.ip}:2379`;
  }

  /** Turns on etcd's authentication with a root user of this password. */
  async enableAuth(password: string): Promise<void> {
    await this.ctl(['user', 'add', `root:${password}`]);
    await this.ctl(['auth', 'enable']);
    this.user = `root:${password}`;
  }

  /** etcdctl, run in the etcd host's netns (the test's own netns does not reach the lab). */
  async ctl(args: string[]): Promise<string> {
    const r = await execa(
      'ip',
      [
        ...['netns', 'exec', this.host.name, 'etcdctl', '--endpoints', this.url],
        ...(this.pki
          ? ['--cacert', this.pki.ca, '--cert', this.pki.clientCert, '--key', this.pki.clientKey]
          : []),
        ...(this.user ? ['--user', this.user] : []),
        ...args,
      ],
      {
        env: { ETCDCTL_API: '3' },
        timeout: 10_000,
      },
    );
    return r.stdout;
  }

  /** Puts many keys with one process: the etcd3 client, run inside the etcd host's netns. */
  async putMany(entries: [string, string][]): Promise<void> {
    const script = `
      const { Etcd3 } = require('etcd3');
      const c = new Etcd3({ hosts: process.argv[1] });
      const entries = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
      Promise.all(entries.map(([k, v]) => c.put(k).value(v)))
        .then(() => c.close(), (e) => { console.error(e.message); process.exit(1); });`;
    await execa('ip', ['netns', 'exec', this.host.name, process.execPath, '-e', script, this.url], {
      cwd: ROOT,
      input: JSON.stringify(entries),
      timeout: 20_000,
    });
  }

  /** The keys under `prefix`. */
  async keys(prefix: string): Promise<string[]> {
    return (await this.ctl(['get', '--prefix', '--keys-only', prefix])).split('\n').filter(Boolean);
  }

  /** The value of `key`, or undefined. */
  async get(key: string): Promise<string | undefined> {
    const out = await this.ctl(['get', '--print-value-only', key]);
    return out === '' ? undefined : out;
  }

  /** etcd on `host` (a lab host on the underlay the agents' hosts reach); `tls`: https only, with
   *  client certificates required. */
  static async start(
    t: { teardown(fn: () => unknown): void },
    host: Host,
    opts: { tls?: boolean } = {},
  ): Promise<Etcd> {
    const dir = mkdtempSync(join(tmpdir(), 'cs-etcd-'));
    const pkiDir = mkdtempSync(join(tmpdir(), 'cs-etcd-pki-'));
    t.teardown(() => rmSync(pkiDir, { recursive: true, force: true }));
    const etcd = new Etcd(host, dir, opts.tls ? await makePki(pkiDir, host.ip) : undefined);
    t.teardown(async () => {
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await etcd.resume();
    return etcd;
  }

  /** Starts etcd on its data dir (again, after stop) and waits until it answers. */
  async resume(): Promise<void> {
    const peer = 'http://127.0.0.1:2380';
    this.proc = spawn(
      'ip',
      [
        ...['netns', 'exec', this.host.name, 'etcd', '--name', 'default', '--data-dir', this.dataDir],
        ...['--listen-client-urls', this.url, '--advertise-client-urls', this.url],
        ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
        ...['--initial-cluster', `default=${peer}`],
        ...(this.pki
          ? [
              ...['--cert-file', this.pki.serverCert, '--key-file', this.pki.serverKey],
              ...['--trusted-ca-file', this.pki.ca, '--client-cert-auth'],
            ]
          : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    this.proc.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await this.ctl(['endpoint', 'health', '--command-timeout=1s']);
        return;
      } catch (err) {
        if (Date.now() > deadline || this.proc.exitCode !== null)
          throw new Error(`etcd did not come up: ${(err as Error).message}\n${log}`);
        await sleep(100);
      }
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }
}

export interface LogLine {
  msg: string;
  level: string;
  [k: string]: unknown;
}

/** The paths an agent of `host` writes, under its own temp dir. */
export interface AgentFiles {
  dir: string;
  peersFile: string;
  conflist: string;
  ipamDataDir: string;
}

export function agentFiles(t: { teardown(fn: () => unknown): void }, name: string): AgentFiles {
  const dir = mkdtempSync(join(tmpdir(), `cs-agent-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    peersFile: join(dir, 'peers.json'),
    conflist: join(dir, 'net.d/10-podnet.conflist'),
    ipamDataDir: join(dir, 'ipam'),
  };
}

/** The flags that put an agent's files under `files.dir`. */
export const fileFlags = (f: AgentFiles): string[] => [
  ...['--data-dir', f.dir, '--peers-file', f.peersFile, '--conflist', f.conflist],
  ...['--ipam-data-dir', f.ipamDataDir],
];

export class Agent {
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;
  private waiters: (() => void)[] = [];

  constructor(netns: string, args: string[]) {
    this.proc = spawn('ip', ['netns', 'exec', netns, bin('cni-suite'), 'agent', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line, level: 'raw' });
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
    void this.exited.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** The first log line with `msg` (and the given fields), waiting up to `ms` for it. */
  async waitFor(msg: string, ms = 15_000, fields: Record<string, unknown> = {}): Promise<LogLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find(
        (l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v),
      );
      if (hit) return hit;
      if (Date.now() > deadline || this.proc.exitCode !== null)
        throw new Error(`agent log has no "${msg}" after ${ms} ms; it said:\n${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

/** Runs `cni-suite agent <args>` to completion (init, leave, or a run expected to fail). */
export async function agentCommand(
  netns: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await inNs(netns, bin('cni-suite'), ['agent', ...args], { reject: false, timeout: timeoutMs });
  return { code: r.exitCode ?? null, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it is true or `ms` pass; returns the time it took, or -1. */
export async function within(
  ms: number,
  check: () => boolean | Promise<boolean>,
  every = 100,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) return -1;
    await sleep(every);
  }
}

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

/** A new pod netns on `hostNetns`, attached through `conflist` as a runtime chains it; its IPv4. */
export async function conflistPod(
  lab: Lab,
  hostNetns: string,
  conflist: string,
  name: string,
): Promise<string> {
  const ns = await lab.container(name);
  const list = readJson(conflist) as Conflist;
  const steps = list.plugins.map((p) => ({
    file: bin(p.type as string),
    conf: { cniVersion: list.cniVersion, name: list.name, ...p },
  }));
  const r = await runChain('ADD', steps, {
    containerId: `${lab.prefix}-${name}`,
    netns: ns.path,
    ifname: 'eth0',
    hostNetns,
    path: BIN,
  });
  if (!r.result) throw new Error(`ADD ${name} failed: ${r.failed?.stdout} ${r.failed?.stderr}`);
  return ((r.result.ips as { address: string }[])[0]?.address ?? '').split('/')[0]!;
}

/** bridge-route's routes toward other hosts (proto 201) in `host`, as "dst via gateway". */
export async function peerRoutes(host: { name: string }): Promise<string[]> {
  const routes = JSON.parse(await ip(['-j', 'route', 'show', 'proto', '201'], host.name)) as {
    dst: string;
    gateway?: string;
  }[];
  return routes.map((r) => `${r.dst} via ${r.gateway}`).sort();
}
