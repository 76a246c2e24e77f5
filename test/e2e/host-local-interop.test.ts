// Ours and the Go reference host-local (/usr/lib/cni/host-local) on one data dir: each honours and
// releases the other's leases, round-robin carries over, and together they never share an address.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  addresses,
  firstAddress,
  haveReference,
  hlConf,
  leases,
  networkFiles,
  OURS,
  pool,
  REFERENCE,
  runHl,
} from '../helpers/host-local.js';
import { Lab } from '../helpers/lab.js';

if (!haveReference) {
  t.fail(`${REFERENCE} is missing: scripts/setup installs containernetworking-plugins`);
  process.exit(1);
}

const lab = await Lab.create(t);
const pod = await lab.container('pod');
const dual = { ranges: [[{ subnet: '10.30.0.0/24' }], [{ subnet: 'fd00:30::/64' }]] };
// The reference (1.1.1 in Debian 12) speaks up to cniVersion 1.0.0.
const V = { cniVersion: '1.0.0' };
const impl = { ours: OURS, reference: REFERENCE } as const;
type Impl = keyof typeof impl;

const add = (who: Impl, conf: unknown, id: string) =>
  runHl(impl[who], conf, { command: 'ADD', containerId: id, netns: pod.path });
const del = (who: Impl, conf: unknown, id: string) =>
  runHl(impl[who], conf, { command: 'DEL', containerId: id });
const check = (who: Impl, conf: unknown, id: string, prevResult: unknown) =>
  runHl(
    impl[who],
    { ...(conf as object), prevResult },
    { command: 'CHECK', containerId: id, netns: pod.path },
  );

for (const [first, second] of [
  ['reference', 'ours'],
  ['ours', 'reference'],
] as const) {
  t.test(`${first} leases are honoured, checked and released by ${second}`, async (t) => {
    const dir = t.testdir({});
    const conf = hlConf(dir, dual, V);
    const a = await add(first, conf, 'a');
    const b = await add(first, conf, 'b');
    t.same(addresses(a.json), ['10.30.0.2/24', 'fd00:30::2/64']);
    t.same(addresses(b.json), ['10.30.0.3/24', 'fd00:30::3/64']);
    const c = await add(second, conf, 'c');
    t.same(addresses(c.json), ['10.30.0.4/24', 'fd00:30::4/64'], 'round-robin continues after the other');
    t.match((await add(second, conf, 'a')).json, { code: Number }, `${second} refuses a second ADD of a`);
    t.equal((await check(second, conf, 'a', a.json)).code, 0, `${second} CHECK sees the lease of ${first}`);
    t.equal((await check(first, conf, 'c', c.json)).code, 0, `${first} CHECK sees the lease of ${second}`);
    t.equal((await del(second, conf, 'a')).code, 0);
    t.equal((await del(first, conf, 'c')).code, 0);
    t.same(
      [...leases(dir)].sort(),
      [
        ['10.30.0.3', 'b\r\neth0'],
        ['fd00:30::3', 'b\r\neth0'],
      ],
      'each released exactly the other one’s leases',
    );
    t.equal((await del(second, conf, 'b')).code, 0);
    t.same(networkFiles(dir), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  });
}

t.test('switching back and forth: 60 ADDs in turns, all distinct, all released by the other', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, dual, V);
  const owner = new Map<string, Impl>();
  const got: string[] = [];
  for (let i = 0; i < 60; i++) {
    const who: Impl = Math.floor(i / 10) % 2 ? 'ours' : 'reference';
    const r = await add(who, conf, `sw-${i}`);
    t.equal(r.code, 0, `${who} ADD sw-${i}`);
    got.push(firstAddress(r.json) ?? '');
    owner.set(`sw-${i}`, who);
  }
  t.equal(new Set(got).size, 60, 'no address handed out twice');
  t.equal(got[59], '10.30.0.61', 'one round-robin sequence across both implementations');
  for (const [id, who] of owner)
    t.equal((await del(who === 'ours' ? 'reference' : 'ours', conf, id)).code, 0);
  t.same(networkFiles(dir), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
});

t.test('a reference ADD between our calls is seen by our next DEL (index stamp)', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, dual, V);
  await add('ours', conf, 'x');
  await add('reference', conf, 'y');
  t.equal((await del('ours', conf, 'y')).code, 0);
  t.same([...new Set(leases(dir).values())], ['x\r\neth0'], "y's leases are gone, x's stay");
  await del('reference', conf, 'x');
  await add('reference', conf, 'z');
  t.equal((await del('ours', conf, 'x')).code, 0, 'a stale index entry releases nothing');
  t.same([...new Set(leases(dir).values())], ['z\r\neth0']);
});

t.test('legacy leases (container ID only) are released by both', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, dual, V);
  await add('ours', conf, 'seed');
  writeFileSync(join(dir, 'hlnet/10.30.0.100'), 'old1');
  writeFileSync(join(dir, 'hlnet/10.30.0.101'), 'old2');
  writeFileSync(join(dir, 'hlnet/last_reserved_ip.0'), '10.30.0.101');
  t.equal((await del('ours', conf, 'old1')).code, 0);
  t.equal((await del('reference', conf, 'old2')).code, 0);
  t.same([...new Set(leases(dir).values())], ['seed\r\neth0']);
});

t.test('both implementations at once: 200 ADDs at 50 in parallel, no address twice', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, { ranges: [[{ subnet: '10.31.0.0/16' }], [{ subnet: 'fd00:31::/64' }]] }, V);
  const jobs = Array.from({ length: 200 }, (_, i) => {
    const who: Impl = i % 2 ? 'ours' : 'reference';
    return async () => ({ who, id: `mix-${i}`, r: await add(who, conf, `mix-${i}`) });
  });
  const results = await pool(50, jobs);
  const failed = results.filter((x) => x.r.code !== 0);
  t.equal(failed.length, 0, `no failures${failed.length ? `: ${failed[0]!.r.stdout}` : ''}`);
  for (const fam of [0, 1])
    t.equal(new Set(results.map((x) => addresses(x.r.json)[fam])).size, 200, `set ${fam}: 200 distinct`);
  const other = (who: Impl): Impl => (who === 'ours' ? 'reference' : 'ours');
  const dels = await pool(
    50,
    results.map((x) => () => del(other(x.who), conf, x.id)),
  );
  t.equal(dels.filter((r) => r.code !== 0).length, 0, 'every DEL by the other implementation succeeds');
  t.same(networkFiles(dir), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
});
