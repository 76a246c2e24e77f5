// The addon (as built by `npm run build`): native/digest.c, the digest lib/net/stamp.ts compares to
// skip work (same text, same digest; any change, another); native/netns.c, sysctls written inside
// another netns (a pod's) while ours stays as it is; native/name.c's limits (its use: lock.test.ts;
// spawn.c: run.test.ts).
import { closeSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { loadFile, useAddon } from '../../lib/sys/addon.js';
import { writeSysctlsIn } from '../../lib/sys/sysctl.js';

const native = loadFile(join(import.meta.dirname, '../../dist/native/cni-suite.node'));
const { digest } = native;

t.test('32 hex digits, the same for the same text', async (t) => {
  t.match(digest(''), /^[0-9a-f]{32}$/);
  t.equal(digest('table inet cni_suite {}'), digest('table inet cni_suite {}'));
});

t.test('one character changed, added or moved gives another digest', async (t) => {
  const peers = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.1 10.244.${i}.0/24`).join(
    '\n',
  );
  const seen = new Set([
    digest(peers),
    digest(`${peers}\n`),
    digest(peers.replace('10.244.999.0', '10.244.998.0')),
    digest(peers.replace('10.0.1.1', '10.0.1.2')),
    digest(peers.slice(1)),
    digest('ab'),
    digest('ba'),
    digest(''),
    digest('\0'),
  ]);
  t.equal(seen.size, 9);
});

t.test('non-ASCII text is hashed by its UTF-8 bytes', async (t) => {
  t.not(digest('é'), digest('e'));
  t.equal(digest('名前'), digest('名前'));
});

t.test('a non-string is a TypeError, not a crash', async (t) => {
  t.throws(() => (digest as (x: unknown) => string)(42), TypeError);
});

t.test('sysctls written inside another netns, not in ours; a missing key skipped', async (t) => {
  const ns = `addon-test-${process.pid}`;
  await execa('ip', ['netns', 'add', ns]);
  t.teardown(() => execa('ip', ['netns', 'del', ns]));
  useAddon(native);
  t.teardown(() => useAddon(undefined));
  const key = 'net.ipv4.conf.lo.arp_notify';
  const ours = readFileSync('/proc/sys/net/ipv4/conf/lo/arp_notify', 'utf8').trim();
  const theirs = async () =>
    (await execa('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/conf/lo/arp_notify'])).stdout;
  const other = ours === '1' ? '0' : '1';
  t.not(await theirs(), other, 'not set before');
  t.ok(
    writeSysctlsIn(`/run/netns/${ns}`, [
      [key, other],
      ['net.ipv4.conf.nosuchlink.arp_notify', '1'],
    ]),
  );
  t.equal(await theirs(), other, 'set inside the netns');
  t.equal(readFileSync('/proc/sys/net/ipv4/conf/lo/arp_notify', 'utf8').trim(), ours, 'ours unchanged');
  t.throws(
    () => writeSysctlsIn('/run/netns/no-such-netns-here', [[key, '1']]),
    /cannot enter \/run\/netns\/no-such-netns-here: ENOENT/,
  );
  t.throws(
    () => writeSysctlsIn(`/run/netns/${ns}`, [[key, 'not-a-number']]),
    /sysctl net\.ipv4\.conf\.lo\.arp_notify in .*: EINVAL/,
  );
  useAddon(undefined);
  t.notOk(
    writeSysctlsIn(`/run/netns/${ns}`, [[key, '1']]),
    'without the addon: false (the caller uses a shell)',
  );
});

t.test('bindName: a name of up to 107 bytes is bound, a longer one refused, never cut', async (t) => {
  const long = `addon-test-${process.pid}-`.padEnd(107, 'x');
  const fd = native.bindName(long);
  t.ok(fd >= 0, 'the longest name fits');
  t.teardown(() => closeSync(fd));
  t.equal(native.bindName(`${long}y`), -constants.errno.ENAMETOOLONG, 'one byte more: ENAMETOOLONG');
  t.equal(native.bindName(`${long.slice(0, 106)}é`), -constants.errno.ENAMETOOLONG, '108 bytes in UTF-8');
  t.equal(native.bindName(long), -constants.errno.EADDRINUSE, 'the same name again: in use');
});
