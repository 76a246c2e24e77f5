// host-local range math: address text forms (as Go prints them), defaults, round-robin order.
import { Address6 } from 'ip-address';
import t from 'tap';
import { toRange } from '../../ipam/host-local/config.js';
import { candidates, ipOf, isUsable, type RangeSet, usableCount } from '../../ipam/host-local/range.js';
import { formatIp, type Ip, parseCidr, parseIp } from '../../lib/base/ip.js';

t.test('parse and format: canonical forms, as Go net.IP.String() names lease files', async (t) => {
  const table: [string, string | undefined][] = [
    ['10.1.0.5', '10.1.0.5'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['256.1.1.1', undefined],
    ['010.1.1.1', undefined],
    ['10.1.1', undefined],
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['64:ff9b::10.1.2.3', '64:ff9b::a01:203'],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['fe80::1%eth0', undefined],
    ['12345::', undefined],
    ['', undefined],
  ];
  for (const [input, want] of table) {
    const ip = parseIp(input);
    t.equal(ip && formatIp(ip), want, input);
  }
});

t.test('IPv6 formatting agrees with ip-address (RFC 5952) on random addresses', async (t) => {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 500; i++) {
    // Mostly zero groups, so "::" placement is exercised.
    const groups = Array.from({ length: 8 }, () => (rnd() % 3 === 0 ? rnd() & 0xffff : 0));
    if (groups[5] === 0xffff && groups.slice(0, 5).every((g) => g === 0)) continue; // v4-mapped
    const text = groups.map((g) => g.toString(16)).join(':');
    const ip = parseIp(text) as Ip;
    t.equal(formatIp(ip), new Address6(text).correctForm(), text);
  }
});

t.test('CIDR parsing', async (t) => {
  t.same(parseCidr('10.1.0.0/24'), { ip: { family: 4, value: 0x0a010000n }, prefix: 24 });
  t.equal(parseCidr('10.1.0.0/33'), undefined);
  t.equal(parseCidr('10.1.0.0'), undefined);
  t.equal(parseCidr('fd00::/129'), undefined);
  t.equal(parseCidr('fd00::/64')?.prefix, 64);
});

function text(set: RangeSet, last?: string, n = 100): string[] {
  const out: string[] = [];
  for (const c of candidates(set, last === undefined ? undefined : parseIp(last))) {
    if (out.length === n) break;
    out.push(formatIp(ipOf(c.range, c.value)));
  }
  return out;
}

t.test('defaults: gateway and rangeStart network+1, rangeEnd the last host', async (t) => {
  const r4 = toRange('r', { subnet: '10.1.0.0/29' });
  t.same(text([r4]), ['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6'], 'no .0, .1 (gw), .7');
  const r6 = toRange('r', { subnet: 'fd00::/126' });
  t.same(text([r6]), ['fd00::2', 'fd00::3'], 'IPv6 has no broadcast: the last address is usable');
  const gw = toRange('r', { subnet: '10.1.0.0/29', gateway: '10.1.0.6' });
  t.same(text([gw]), ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5']);
  const explicit = toRange('r', { subnet: '10.1.0.0/24', rangeStart: '10.1.0.0', rangeEnd: '10.1.0.255' });
  t.notOk(isUsable(explicit, explicit.start), 'the network address is never handed out');
  t.notOk(isUsable(explicit, explicit.end), 'nor the IPv4 broadcast address');
  t.equal(usableCount([explicit]), 253n);
  t.equal(usableCount([toRange('r', { subnet: '10.1.0.0/16' })]), 65533n);
});

t.test('round-robin: after the last reserved address, across ranges, wrapping to it', async (t) => {
  const set = [
    toRange('a', { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.12' }),
    toRange('b', { subnet: '10.2.0.0/24', rangeStart: '10.2.0.20', rangeEnd: '10.2.0.21' }),
  ];
  const all = ['10.1.0.10', '10.1.0.11', '10.1.0.12', '10.2.0.20', '10.2.0.21'];
  t.same(text(set), all, 'no last reserved: from the first range start');
  t.same(text(set, '10.1.0.11'), ['10.1.0.12', '10.2.0.20', '10.2.0.21', '10.1.0.10', '10.1.0.11']);
  t.same(text(set, '10.2.0.21'), all, 'last at the very end wraps to the start');
  t.same(text(set, '10.9.9.9'), all, 'a last address outside the set is ignored');
  t.same(text(set, 'fd00::1'), all, 'and one of the other family too');
});

t.test('candidates are lazy: a /64 yields its first addresses at once', async (t) => {
  const set = [toRange('r', { subnet: 'fd00:1::/64' })];
  t.same(text(set, 'fd00:1::ffff:ffff:ffff:fffe', 3), [
    'fd00:1::ffff:ffff:ffff:ffff',
    'fd00:1::2',
    'fd00:1::3',
  ]);
});
