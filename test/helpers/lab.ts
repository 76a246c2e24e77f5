// The e2e test bed: "hosts" are netns joined by an underlay switch (a bridge in its own netns),
// "containers" are netns, plugins run inside a host netns. Everything a Lab makes is named
// cs-<pid>-…, removed at teardown, on exit/signals, and swept later if the owner process died.

import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';

export interface Netns {
  name: string;
  path: string;
}
export interface Host extends Netns {
  /** The host's address on the underlay, without prefix. */
  ip: string;
  /** Its IPv6 address on the underlay, when it has one (routed hosts do). */
  ip6?: string;
}

const STAMP_DIR = '/run/cni-suite';

/** An address of the "outside" netns that no host route covers: reaching it needs the default route. */
export const OUTSIDE_IP = '203.0.113.10';

const live = new Set<string>();
let counter = 0;

/** Runs `ip …` (optionally in a netns) and returns stdout; throws with stderr on failure. */
export async function ip(args: string[], netns?: string): Promise<string> {
  const argv = netns ? ['-n', netns, ...args] : args;
  return (await execa('ip', argv)).stdout;
}

/** Runs a command inside a netns. */
export async function inNs(
  netns: string,
  file: string,
  args: string[],
  opts: { reject?: boolean; timeout?: number; input?: string } = {},
) {
  return execa('ip', ['netns', 'exec', netns, file, ...args], {
    reject: opts.reject ?? true,
    timeout: opts.timeout,
    input: opts.input,
  });
}

export class Lab {
  readonly prefix = `cs-${process.pid}-${++counter}`;
  readonly underlay: Netns;
  private hosts = 0;
  private readonly subnet: string;

  private constructor(underlay: Netns, subnet: string) {
    this.underlay = underlay;
    this.subnet = subnet;
  }

  /** A lab with an empty underlay switch; `subnet` is the first three octets of the underlay /24. */
  static async create(t: { teardown(fn: () => unknown): void }, subnet = '192.168.100'): Promise<Lab> {
    sweepStale();
    const lab = new Lab({ name: '', path: '' }, subnet);
    const sw = await lab.netns('sw');
    Object.assign(lab.underlay, sw);
    await ip(['link', 'add', 'br0', 'type', 'bridge'], sw.name);
    await ip(['link', 'set', 'br0', 'up'], sw.name);
    t.teardown(() => lab.destroy());
    return lab;
  }

  /** A bare netns with loopback up. */
  async netns(name: string): Promise<Netns> {
    const full = `${this.prefix}-${name}`;
    await execa('ip', ['netns', 'add', full]);
    live.add(full);
    await ip(['link', 'set', 'lo', 'up'], full);
    return { name: full, path: `/var/run/netns/${full}` };
  }

  /** A host: a netns with eth0 on the underlay at <subnet>.<10+n>/24, default route via <subnet>.1. */
  async host(name: string): Promise<Host> {
    const n = ++this.hosts;
    const ns = await this.netns(name);
    const addr = `${this.subnet}.${10 + n}`;
    await this.attach(ns, `p${n}`, `${addr}/24`);
    await ip(['route', 'add', 'default', 'via', `${this.subnet}.1`], ns.name);
    return { ...ns, ip: addr };
  }

  /** "The internet": a netns at <subnet>.1 (the hosts' default gateway) that also owns OUTSIDE_IP. */
  async outside(): Promise<Host> {
    const ns = await this.netns('out');
    await this.attach(ns, 'pout', `${this.subnet}.1/24`);
    await ip(['addr', 'add', `${OUTSIDE_IP}/32`, 'dev', 'lo'], ns.name);
    return { ...ns, ip: OUTSIDE_IP };
  }

  /** Plugs `ns` into the underlay switch as eth0 with `cidr`; `port` names the switch side. */
  async attach(ns: Netns, port: string, cidr: string): Promise<void> {
    await cable(this.underlay, port, ns);
    await ip(['link', 'set', port, 'master', 'br0', 'up'], this.underlay.name);
    await ip(['addr', 'add', cidr, 'dev', 'eth0'], ns.name);
    await ip(['link', 'set', 'eth0', 'up'], ns.name);
  }

  private router: Netns | undefined;

  /**
   * A host on a routed underlay: its own subnets 172.16.<n>.0/24 and fd00:16:<n>::/64 (eth0 .2 and
   * ::2), default routes via a router netns at .1 and ::1. Hosts made this way share no L2 segment.
   * The router also owns OUTSIDE_IP.
   */
  async routedHost(name: string): Promise<Host> {
    const n = ++this.hosts;
    if (!this.router) {
      this.router = await this.netns('rt');
      await inNs(this.router.name, 'sysctl', [
        '-qw',
        'net.ipv4.ip_forward=1',
        'net.ipv6.conf.all.forwarding=1',
      ]);
      await ip(['addr', 'add', `${OUTSIDE_IP}/32`, 'dev', 'lo'], this.router.name);
    }
    const ns = await this.netns(name);
    const port = `r${n}`;
    await cable(this.router, port, ns);
    await ip(['addr', 'add', `172.16.${n}.1/24`, 'dev', port], this.router.name);
    await ip(['addr', 'add', `fd00:16:${n}::1/64`, 'dev', port, 'nodad'], this.router.name);
    await ip(['link', 'set', port, 'up'], this.router.name);
    await ip(['addr', 'add', `172.16.${n}.2/24`, 'dev', 'eth0'], ns.name);
    await ip(['addr', 'add', `fd00:16:${n}::2/64`, 'dev', 'eth0', 'nodad'], ns.name);
    await ip(['link', 'set', 'eth0', 'up'], ns.name);
    await ip(['route', 'add', 'default', 'via', `172.16.${n}.1`], ns.name);
    await ip(['-6', 'route', 'add', 'default', 'via', `fd00:16:${n}::1`], ns.name);
    return { ...ns, ip: `172.16.${n}.2`, ip6: `fd00:16:${n}::2` };
  }

  /** The router of routedHost, as "the internet" (it owns OUTSIDE_IP). */
  routerHost(): Host {
    if (!this.router) throw new Error('no routed host yet');
    return { ...this.router, ip: OUTSIDE_IP };
  }

  /**
   * A host on the underlay switch whose netns has the inode `host`'s had: `host` is deleted, then
   * new netns of its name are made until the kernel hands that inode out again (it frees a netns's
   * lazily, so this takes a few tries). Its eth0 has MTU `mtu`. Undefined when the inode never came back.
   */
  async reuseInode(host: Host, mtu = 1500, tries = 100): Promise<Host | undefined> {
    const ino = statSync(host.path).ino;
    const n = Number(host.ip.split('.')[3]) - 10;
    // The kernel numbers a new netns with the lowest free number (then its /proc entries with the
    // next ones). Fill every hole below the target first, so that once it is freed (lazily) it is
    // the lowest, and the next netns gets it.
    const fillers: string[] = [];
    const made = async (name: string) => {
      await execa('ip', ['netns', 'add', name]);
      live.add(name);
      return statSync(`/run/netns/${name}`).ino;
    };
    try {
      for (let i = 0; i < tries; i++) {
        fillers.push(`${host.name}-f${i}`);
        if ((await made(fillers[i]!)) > ino) break;
      }
      // What the plugins left for the first one stays, as it would on a node.
      removeNetns(host.name, true);
      for (let i = 0; i < tries; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const got = await made(host.name);
        if (got < ino) {
          // Another process freed a lower hole meanwhile: keep this netns there, under another name.
          const filler = `${host.name}-g${i}`;
          writeFileSync(`/run/netns/${filler}`, '');
          await execa('mount', ['--bind', host.path, `/run/netns/${filler}`]);
          live.add(filler);
          fillers.push(filler);
        }
        if (got !== ino) {
          removeNetns(host.name);
          continue;
        }
        await ip(['link', 'set', 'lo', 'up'], host.name);
        await ip(['link', 'del', `p${n}`], this.underlay.name).catch(() => {});
        await this.attach(host, `p${n}`, `${host.ip}/24`);
        await ip(['link', 'set', 'eth0', 'mtu', String(mtu)], host.name);
        await ip(['route', 'add', 'default', 'via', `${this.subnet}.1`], host.name);
        return host;
      }
      return undefined;
    } finally {
      for (const f of fillers) removeNetns(f);
    }
  }

  /** A container: an empty netns for a plugin to wire. */
  container(name: string): Promise<Netns> {
    return this.netns(name);
  }

  async destroy(): Promise<void> {
    for (const name of [...live]) if (name.startsWith(`${this.prefix}-`)) removeNetns(name);
  }
}

/** A veth pair: `port` in `side` (a switch or router), eth0 in `ns`. */
async function cable(side: Netns, port: string, ns: Netns): Promise<void> {
  await ip([
    'link',
    'add',
    port,
    'netns',
    side.name,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    ns.name,
  ]);
}

/** Kills what runs inside and deletes the netns (and its stamps, unless kept); never throws. */
function removeNetns(name: string, keepStamps = false): void {
  if (!keepStamps) removeStamps(name);
  const pids =
    spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
  for (const pid of pids) spawnSync('kill', ['-9', pid]);
  spawnSync('ip', ['netns', 'del', name]);
  live.delete(name);
}

/** Plugins keep per-netns digests in /run/cni-suite (see lib/engine/stamp.ts); drop this netns's. */
function removeStamps(name: string): void {
  try {
    const ino = statSync(`/var/run/netns/${name}`).ino;
    for (const f of readdirSync(STAMP_DIR))
      if (f.includes(`-${ino}-`)) rmSync(`${STAMP_DIR}/${f}`, { force: true });
  } catch {
    // no netns or no stamps
  }
}

/** Removes labs left by processes that no longer exist (a killed test run). */
function sweepStale(): void {
  const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout?.split('\n') ?? [];
  for (const line of names) {
    const m = /^(cs-(\d+)-\S+)/.exec(line);
    if (!m || Number(m[2]) === process.pid) continue;
    if (!isAlive(Number(m[2]))) removeNetns(m[1]!);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function removeAll(): void {
  for (const name of [...live]) removeNetns(name);
}
process.on('exit', removeAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    removeAll();
    process.exit(130);
  });
}
