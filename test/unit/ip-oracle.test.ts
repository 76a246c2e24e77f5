// lib/base/ip.ts (our own address math: ip-address costs ≈ 5 ms of every call to import, so the
// plugins do not load it) held against ip-address, the card's library for it, on seeded random
// addresses and subnets of both families: parsing, the canonical form, networks and containment.
import { Address4, Address6 } from 'ip-address';
import t from 'tap';
import { cidrContains, formatIp, isCidr, isIp, networkOf, parseCidr, parseIp } from '../../lib/base/ip.js';

/** A small seeded generator (mulberry32), so a failure replays. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}
const SEED = Number(process.env.IP_SEED ?? 20261207);
const next = rng(SEED);
const int = (n: number) => Math.floor(next() * n);

const v4 = () => Array.from({ length: 4 }, () => int(256)).join('.');
/** IPv6 with runs of zero groups now and then, so `::` appears in both directions. */
const v6 = () => Array.from({ length: 8 }, () => (next() < 0.4 ? '0' : int(0x10000).toString(16))).join(':');
const oracle = (s: string) => (s.includes(':') ? new Address6(s) : new Address4(s));

t.comment(`seed ${SEED} (replay: IP_SEED=${SEED})`);

t.test('addresses: valid for both, and formatted in the canonical form', async (t) => {
  for (let i = 0; i < 500; i++) {
    const s = i % 2 ? v6() : v4();
    t.ok(isIp(s), `${s} parses`);
    const ours = formatIp(parseIp(s)!);
    const theirs = s.includes(':') ? new Address6(s).correctForm() : new Address4(s).correctForm();
    if (ours !== theirs) t.equal(ours, theirs, `${s}: the same canonical form`);
  }
});

t.test('subnets: the same network, and the same answer to "contains"', async (t) => {
  for (let i = 0; i < 500; i++) {
    const six = i % 2 === 1;
    const prefix = six ? int(129) : int(33);
    const addr = six ? v6() : v4();
    const cidr = `${addr}/${prefix}`;
    t.ok(isCidr(cidr), `${cidr} parses`);
    const net = oracle(cidr).startAddress().correctForm();
    const ours = networkOf(parseCidr(cidr)!);
    if (ours.split('/')[0] !== net) t.equal(ours.split('/')[0], net, `${cidr}: network`);
    const probe = six ? v6() : v4();
    const inside = oracle(probe).isInSubnet(oracle(`${net}/${prefix}`));
    if (cidrContains(`${net}/${prefix}`, probe) !== inside)
      t.equal(cidrContains(`${net}/${prefix}`, probe), inside, `${net}/${prefix} contains ${probe}`);
  }
  t.pass('500 subnets agree');
});

t.test('what ip-address refuses, we refuse', async (t) => {
  for (const bad of ['1.2.3', '1.2.3.256', '1.2.3.4.5', '::g', '1:2:3:4:5:6:7:8:9', '1::2::3', ''])
    t.equal(isIp(bad), Address4.isValid(bad) || Address6.isValid(bad), JSON.stringify(bad));
});
