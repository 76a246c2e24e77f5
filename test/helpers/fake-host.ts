// A fake host for the engine's unit tests (lib/engine/seam.ts): a small in-memory model of the ip
// commands the engine sends (links with their kind, alias, master and addresses; routes), sysctls,
// nft scripts, locks, stamps and files, plus a hook that makes a chosen command fail as the kernel
// would. Every call is logged, so a test can say what the engine did and in which order.
import { BatchFailure, type BatchOptions, type Host, NotInstalledError } from '../../lib/engine/seam.ts';
import type { IpLink } from '../../lib/plan/state.ts';

interface FakeLink extends IpLink {
  addr_info: { family: 'inet' | 'inet6'; local: string; prefixlen: number; scope: string }[];
}

/** Makes a command fail: the kind of failure, or undefined to let it run. */
export type FailHook = (cmd: readonly string[], netns: string) => BatchFailure['kind'] | undefined;

export class FakeHost implements Host {
  /** Links per netns path ('' is the host's). */
  readonly nets = new Map<string, Map<string, FakeLink>>([['', new Map()]]);
  readonly routes: {
    netns: string;
    cmd: string;
    dst: string;
    gateway?: string;
    dev?: string;
    metric?: number;
  }[] = [];
  readonly sysctls = new Map<string, string>([['net.ipv4.ip_forward', '0']]);
  readonly nft: string[] = [];
  readonly log: string[] = [];
  readonly stamps = new Map<string, string>();
  readonly files = new Map<string, string>();
  readonly heldLocks = new Set<string>();
  failOn: FailHook = () => undefined;
  nftInstalled = true;

  constructor() {
    this.addLink('', { ifname: 'eth0', kind: 'veth', addrs: ['192.168.100.11/24'] });
    this.files.set(
      '/proc/self/net/route',
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\t00000000\t0164A8C0\t0003\t0\t0\t0\t00000000\n',
    );
  }

  links(netns = ''): Map<string, FakeLink> {
    const m = this.nets.get(netns) ?? new Map<string, FakeLink>();
    this.nets.set(netns, m);
    return m;
  }

  addLink(
    netns: string,
    l: {
      ifname: string;
      kind: string;
      addrs?: string[];
      alias?: string;
      master?: string;
      mac?: string | undefined;
    },
  ) {
    this.links(netns).set(l.ifname, {
      ifindex: this.links(netns).size + 1,
      ifname: l.ifname,
      mtu: 1500,
      address: l.mac ?? `02:00:00:00:00:${(this.links(netns).size + 1).toString(16).padStart(2, '0')}`,
      flags: ['UP'],
      ...(l.alias ? { ifalias: l.alias } : {}),
      ...(l.master ? { master: l.master } : {}),
      linkinfo: { info_kind: l.kind },
      addr_info: (l.addrs ?? []).map((a) => {
        const [local, prefix] = a.split('/');
        return {
          family: a.includes(':') ? 'inet6' : 'inet',
          local: local!,
          prefixlen: Number(prefix),
          scope: 'global',
        };
      }),
    });
  }

  async batch(commands: readonly (readonly string[])[], opts: BatchOptions = {}): Promise<unknown[][]> {
    const netns = opts.netns ?? '';
    this.log.push(`batch${netns ? ` in ${netns}` : ''}: ${commands.map((c) => c.join(' ')).join('; ')}`);
    for (const [k, v] of opts.sysctls ?? []) this.log.push(`sysctl in ${netns}: ${k}=${v}`);
    return this.exec(commands, netns);
  }

  private exec(commands: readonly (readonly string[])[], netns: string): unknown[][] {
    const answers: unknown[][] = [];
    commands.forEach((cmd, i) => {
      const kind = this.failOn(cmd, netns);
      if (kind) throw new BatchFailure(kind, i, `${cmd.join(' ')}: failed (${kind})`);
      const answer = this.run(cmd, netns, i);
      if (answer) answers.push(answer);
    });
    return answers;
  }

  /** One command: a read's answer, or undefined for a write. */
  private run(cmd: readonly string[], netns: string, i: number): unknown[] | undefined {
    const links = this.links(netns);
    const [obj, verb] = cmd;
    const arg = (k: string) => (cmd.indexOf(k) >= 0 ? cmd[cmd.indexOf(k) + 1] : undefined);
    const missing = (name: string | undefined) => {
      if (!name || !links.has(name))
        throw new BatchFailure('missing', i, `${cmd.join(' ')}: Cannot find device`);
      return links.get(name)!;
    };
    if (obj === 'route' && verb === 'get') return [{ dst: cmd[2], dev: 'eth0' }]; // every node IP on-link
    if (obj === 'route' && verb === 'show')
      return this.routes.filter((r) => r.netns === netns).map(({ cmd: _, netns: __, ...r }) => r);
    if (verb === 'show') {
      if (obj === 'neigh' || obj === 'fdb') return [];
      const dev = arg('dev');
      if (dev) return [missing(dev)];
      const master = arg('master');
      return [...links.values()].filter((l) => !master || l.master === master);
    }
    if (obj === 'link' && verb === 'add') {
      const name = arg('name')!;
      if (links.has(name)) throw new BatchFailure('exists', i, `${cmd.join(' ')}: File exists`);
      const peer = cmd.indexOf('peer');
      const type = cmd[cmd.indexOf('type') + 1]!;
      if (peer >= 0) {
        const peerName = cmd[cmd.indexOf('name', peer) + 1]!;
        const peerNs = cmd[cmd.indexOf('netns', peer) + 1]!;
        if (this.links(peerNs).has(peerName))
          throw new BatchFailure('exists', i, `${cmd.join(' ')}: File exists`);
        this.addLink(peerNs, { ifname: peerName, kind: type, mac: cmd[cmd.indexOf('address', peer) + 1] });
      }
      const mac =
        cmd.indexOf('address') >= 0 && cmd.indexOf('address') < (peer >= 0 ? peer : cmd.length)
          ? arg('address')
          : undefined;
      this.addLink(netns, { ifname: name, kind: type, mac });
      return undefined;
    }
    if (obj === 'link' && verb === 'set') {
      const l = missing(arg('dev'));
      const alias = arg('alias');
      if (alias) l.ifalias = alias;
      const master = arg('master');
      if (master) l.master = master;
      const to = arg('netns');
      if (to) {
        const name = arg('name') ?? l.ifname;
        if (this.links(to).has(name)) throw new BatchFailure('exists', i, `${cmd.join(' ')}: File exists`);
        links.delete(l.ifname);
        this.links(to).set(name, { ...l, ifname: name });
      }
      return undefined;
    }
    if (obj === 'addr' && verb === 'replace') {
      const l = missing(arg('dev'));
      const [local, prefix] = cmd[2]!.split('/');
      l.addr_info.push({ family: 'inet', local: local!, prefixlen: Number(prefix), scope: 'global' });
      return undefined;
    }
    if (obj === 'route' && verb === 'replace') {
      const route = { netns, cmd: cmd.join(' '), dst: cmd[2]! === 'default' ? '0.0.0.0/0' : cmd[2]! };
      const via = arg('via');
      const dev = arg('dev');
      const metric = arg('metric');
      this.routes.push({
        ...route,
        ...(via ? { gateway: via } : {}),
        ...(dev ? { dev } : {}),
        ...(metric ? { metric: Number(metric) } : {}),
      });
    }
    return undefined;
  }

  async read(args: readonly string[], opts: { netns?: string | undefined; details?: boolean } = {}) {
    this.log.push(`read${opts.netns ? ` in ${opts.netns}` : ''}: ${args.join(' ')}`);
    try {
      return this.exec([args], opts.netns ?? '')[0] ?? [];
    } catch (err) {
      if (err instanceof BatchFailure && err.kind === 'missing') return [];
      throw err;
    }
  }

  async deleteLink(name: string, netns = ''): Promise<boolean> {
    this.log.push(`delete ${name}${netns ? ` in ${netns}` : ''}`);
    const links = this.links(netns);
    if (!links.has(name)) return false;
    links.delete(name);
    for (const l of links.values()) if (l.master === name) delete l.master;
    return true;
  }

  hasLink = (name: string) => this.links('').has(name);
  readSysctl = (key: string) => this.sysctls.get(key) ?? '0';
  ensureSysctl = (key: string, value: string) => {
    if (this.sysctls.get(key) === value) return;
    this.log.push(`sysctl ${key}=${value}`);
    this.sysctls.set(key, value);
  };

  async nftApply(script: string): Promise<void> {
    if (!this.nftInstalled) throw new NotInstalledError('nft');
    this.log.push(`nft: ${script.trim().split('\n')[0]}…`);
    this.nft.push(script);
  }

  async nftList(): Promise<Record<string, unknown>[]> {
    return [];
  }

  async holdLock(name: string) {
    this.log.push(`lock ${name}`);
    this.heldLocks.add(name);
    return (opts?: { remove?: boolean }) => {
      this.log.push(`unlock ${name}${opts?.remove ? ' (removed)' : ''}`);
      this.heldLocks.delete(name);
    };
  }

  async tryLock(name: string) {
    return this.heldLocks.has(name) ? undefined : this.holdLock(name);
  }

  stamp(network: string, kind: string) {
    const key = `${network}.${kind}`;
    return {
      matches: (content: string) => this.stamps.get(key) === content,
      record: (content: string) => void this.stamps.set(key, content),
      forget: () => void this.stamps.delete(key),
    };
  }

  note(name: string) {
    const key = `note ${name}`;
    return {
      read: () => this.stamps.get(key),
      write: (content: string) => void this.stamps.set(key, content),
      forget: () => void this.stamps.delete(key),
    };
  }

  sweepStamps(): void {}

  readFile(path: string): string {
    const text = this.files.get(path);
    if (text === undefined) throw Object.assign(new Error(`${path}: no such file`), { code: 'ENOENT' });
    return text;
  }

  hasTool = () => true;
  findExecutable = (name: string) => `/opt/cni/bin/${name}`;
}
