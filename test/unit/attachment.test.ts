// Names derived from attachments: stable, valid as interface names, and spread out.
import t from 'tap';
import {
  attachmentKey,
  hostLinkName,
  linkAlias,
  networkGroup,
  networkTag,
  parseLinkAlias,
  randomMac,
  shortHash,
} from '../../lib/plan/attachment.js';

t.test('host link names are stable, ≤ 15 bytes, and distinct', async (t) => {
  const a = { network: 'podnet', containerId: 'c1', ifname: 'eth0' };
  t.equal(hostLinkName(a, 'vb'), hostLinkName({ ...a }, 'vb'), 'same attachment, same name');
  t.match(hostLinkName(a, 'vb'), /^vb[0-9a-f]{13}$/);
  t.not(hostLinkName(a, 'vb'), hostLinkName({ ...a, ifname: 'eth1' }, 'vb'));
  t.not(hostLinkName(a, 'vb'), hostLinkName({ ...a, network: 'other' }, 'vb'));
  const names = new Set<string>();
  for (let i = 0; i < 20000; i++) names.add(hostLinkName({ ...a, containerId: `pod-${i}` }, 'vb'));
  t.equal(names.size, 20000, 'no collision among 20,000 pods');
});

t.test('hash, tag, group, alias and MAC shapes', async (t) => {
  t.match(shortHash('x'), /^[0-9a-f]{16}$/);
  t.not(shortHash('ab', 'c'), shortHash('a', 'bc'), 'parts are separated');
  t.match(networkTag('podnet'), /^n[0-9a-f]{10}$/);
  const g = networkGroup('podnet');
  t.ok(g > 0 && g < 2 ** 32 && g % 2 === 1, 'a non-zero u32 group');
  const id = { network: 'n', containerId: 'abc', ifname: 'eth0' };
  t.same(parseLinkAlias(linkAlias(id)), id);
  t.equal(parseLinkAlias('something else'), undefined);
  for (let i = 0; i < 100; i++) {
    const mac = randomMac();
    t.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    t.equal(Number.parseInt(mac.slice(0, 2), 16) & 0x03, 0x02, 'locally administered unicast');
  }
});

t.test('attachmentKey: containerID/ifname, or a hash when an nft comment could not hold it', async (t) => {
  t.equal(attachmentKey({ containerId: 'abc', ifname: 'eth0' }), 'abc/eth0');
  const long = attachmentKey({ containerId: 'c'.repeat(128), ifname: 'eth0' });
  t.match(long, /^#[0-9a-f]{16}$/);
  t.not(long, attachmentKey({ containerId: 'c'.repeat(128), ifname: 'eth1' }), 'still one per attachment');
});
