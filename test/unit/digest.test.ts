// native/digest.c (as built by `npm run build`): the digest lib/net/stamp.ts compares to skip work.
// Same text, same digest; any change, another; any size and any character.
import { join } from 'node:path';
import t from 'tap';
import { loadFile } from '../../lib/sys/addon.js';

const { digest } = loadFile(join(import.meta.dirname, '../../dist/native/cni-suite.node'));

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
