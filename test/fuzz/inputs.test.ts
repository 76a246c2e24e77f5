// The fuzz tier: at least 1,000 seeded cases per run (FUZZ_SEED=<n> replays one; FUZZ_CASES=<n>
// sets the count) over every plugin and verb, from the families in test/helpers/fuzz-cases.ts.
// Each case must answer within 5 s with one JSON document (or nothing, on success), exit 1 with the
// expected code and a message naming the field (on stdout and stderr), and leave its host netns
// exactly as it was:
// links, addresses, routes of both families, neighbours and FDB, the nft ruleset, the sysctls the
// plugins touch, and the files of its data dir, of the network in /var/lib/cni/networks and of its
// netns in /run/cni-suite.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { type Case, type Fixtures, makeCase, rng } from '../helpers/fuzz-cases.js';
import { Lab } from '../helpers/lab.js';
import { BIN, bin } from '../helpers/plugin.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 1000);
const WORKERS = 2;
const ANSWER_MS = 5000;
t.comment(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED}), ${CASES} cases`);

const lab = await Lab.create(t);
/** Each worker's files: special ones, and its data dir. */
const root = t.testdir(
  Object.fromEntries(
    Array.from({ length: WORKERS }, (_, n) => [`w${n}`, { 'regular.json': '[]', directory: {} }]),
  ),
);

interface Worker {
  host: string;
  f: Fixtures;
}

async function worker(n: number): Promise<Worker> {
  const host = await lab.netns(`fz${n}`);
  const pod = await lab.container(`fz${n}pod`);
  // A host as plugins expect one: an eth0 with an address and a default route.
  execFileSync('ip', ['-n', host.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  execFileSync('ip', ['-n', host.name, 'addr', 'add', '192.168.200.2/24', 'dev', 'eth0']);
  execFileSync('ip', ['-n', host.name, 'link', 'set', 'eth0', 'up']);
  execFileSync('ip', ['-n', host.name, 'route', 'add', 'default', 'via', '192.168.200.1']);
  const base = join(root, `w${n}`);
  const fifo = join(base, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const socket = join(base, 'socket');
  const server = createServer().listen(socket);
  t.teardown(() => server.close());
  symlinkSync(fifo, join(base, 'link'));
  mkdirSync(join(base, 'ipam'));
  writeFileSync(join(base, 'ipam', '.keep'), '');
  return {
    host: host.name,
    f: {
      cniPath: BIN,
      dataDir: join(base, 'ipam'),
      podNetns: pod.path,
      fifo,
      socket,
      regular: join(base, 'regular.json'),
      directory: join(base, 'directory'),
      symlinkToFifo: join(base, 'link'),
    },
  };
}

/** Everything a plugin could change in the host netns, in one process. */
function snapshot(w: Worker): string {
  const script = [
    // The JSON ones one array per line; lines() splits them into objects.
    "printf 'link show\\naddr show\\nroute show table all\\nneigh show\\n' | ip -j -d -batch -",
    'ip -j -6 route show table all',
    'bridge -j fdb show',
    'nft list ruleset',
    'grep -r . /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding /proc/sys/net/ipv4/conf/*/route_localnet',
    // Only this netns's stamps and this network's default data dir: other tests run meanwhile.
    `find ${w.f.dataDir} /var/lib/cni/networks/fuzznet /var/lib/cni/networks/.host-local-index/fuzznet -printf '%p %s\\n' 2>/dev/null | sort`,
    `find /run/cni-suite -name "*-$(stat -L -c %i /run/netns/${w.host})-*" 2>/dev/null | sort`,
  ].join('; ');
  return lines(execFileSync('ip', ['netns', 'exec', w.host, 'sh', '-c', script], { encoding: 'utf8' }));
}

/**
 * One JSON object per line (so a difference names the object), other output as it is. A bridge's
 * timers tick on their own, so they are left out.
 */
function lines(out: string): string {
  const steady = (key: string, value: unknown) => (key.endsWith('_timer') ? undefined : value);
  return out
    .split('\n')
    .flatMap((line) =>
      line.startsWith('[{') ? (JSON.parse(line) as unknown[]).map((o) => JSON.stringify(o, steady)) : [line],
    )
    .join('\n');
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function call(w: Worker, c: Case): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn('ip', ['netns', 'exec', w.host, bin(c.plugin)], {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...c.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const killer = setTimeout(() => child.kill('SIGKILL'), ANSWER_MS * 2);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(c.stdin);
  });
}

/** The first line that differs, before → after. */
function firstDifference(before: string, after: string): string {
  const [a, b] = [before.split('\n'), after.split('\n')];
  const i = a.findIndex((line, k) => line !== b[k]);
  const at = i < 0 ? a.length : i;
  return `${(a[at] ?? '').slice(0, 300)} → ${(b[at] ?? '').slice(0, 300)}`;
}

/** What is wrong with a case's answer; [] when nothing is. */
function problems(c: Case, r: Run, before: string, after: string): string[] {
  const out: string[] = [];
  if (r.ms > ANSWER_MS) out.push(`answered in ${r.ms} ms`);
  if (before !== after) out.push(`the host changed: ${firstDifference(before, after)}`);
  let doc: { code?: number; msg?: string } | undefined;
  try {
    doc = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    out.push(`stdout is not one JSON document: ${r.stdout.slice(0, 200)}`);
  }
  if (c.expect === 'ok') {
    if (r.code !== 0) out.push(`exit ${r.code}, not 0: ${r.stdout.slice(0, 300)}`);
    return out;
  }
  if (r.code !== 1) out.push(`exit ${r.code}, not 1`);
  if (doc?.code !== c.expect.code)
    out.push(`code ${doc?.code}, not ${c.expect.code}: ${doc?.msg?.slice(0, 300)}`);
  if (!c.expect.field.test(doc?.msg ?? ''))
    out.push(`the message does not name ${c.expect.field}: ${doc?.msg?.slice(0, 300)}`);
  if (!r.stderr.includes('error')) out.push('nothing on stderr');
  return out;
}

const workers = await Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n)));
const r = rng(SEED);
const cases = Array.from({ length: CASES }, (_, n) => makeCase(r, n, workers[n % WORKERS]!.f));
const byFamily = new Map<string, { n: number; failed: string[] }>();

await Promise.all(
  workers.map(async (w, k) => {
    for (let n = k; n < cases.length; n += WORKERS) {
      const c = cases[n]!;
      const before = snapshot(w);
      const run = await call(w, c);
      const after = snapshot(w);
      const found = problems(c, run, before, after);
      const stats = byFamily.get(c.family) ?? byFamily.set(c.family, { n: 0, failed: [] }).get(c.family)!;
      stats.n++;
      if (found.length)
        stats.failed.push(`#${n} ${c.plugin} ${c.env.CNI_COMMAND ?? '-'}: ${found.join('; ')}`);
    }
  }),
);

for (const [family, { n, failed }] of byFamily)
  t.same(failed, [], `${family}: ${n} cases answered as expected, within 5 s, host unchanged`);
t.equal(
  [...byFamily.values()].reduce((s, x) => s + x.n, 0),
  CASES,
  `${CASES} cases ran`,
);
