// Golden tests: the canonical result written at each version, converted to every version.

import { readFileSync } from 'node:fs';
import t from 'tap';
import type { CniError } from '../../lib/cni/errors.js';
import { emptyResult, parseResult, resultToVersion } from '../../lib/cni/result.js';
import { resultFamily, SPEC_VERSIONS, type SpecVersion } from '../../lib/cni/versions.js';

type Doc = Record<string, unknown>;
const golden = JSON.parse(readFileSync(new URL('./golden/results.json', import.meta.url), 'utf8')) as {
  rich: Record<string, Doc>;
  fromLegacy: Record<string, Doc>;
};

/** The golden file writes each shape once: 0.3.x share 0.4.0's, 0.1.0 shares 0.2.0's. */
const shapeOf = (v: SpecVersion): string =>
  ({ legacy: '0.2.0', 'ips-versioned': '0.4.0', v1: v })[resultFamily(v)] as string;
const at = (doc: Doc | undefined, v: SpecVersion): Doc => ({ ...structuredClone(doc!), cniVersion: v });

/** The canonical result as written by a plugin at `v`. */
const written = (v: SpecVersion) => at(golden.rich[shapeOf(v)], v);

/** What converting from → to must give: what `from` could carry, in `to`'s shape. */
function expected(from: SpecVersion, to: SpecVersion): Doc {
  if (resultFamily(from) === 'legacy') {
    if (resultFamily(to) === 'legacy') return written(to);
    return at(golden.fromLegacy[shapeOf(to) === '1.1.0' ? '1.0.0' : shapeOf(to)], to);
  }
  // 1.1-only fields (interface mtu, route mtu/priority…) do not survive an older source.
  if (to === '1.1.0' && from !== '1.1.0') return at(golden.rich['1.0.0'], to);
  return written(to);
}

for (const from of SPEC_VERSIONS) {
  for (const to of SPEC_VERSIONS) {
    t.test(`result ${from} → ${to}`, async (t) => {
      const model = parseResult(written(from), from);
      t.same(resultToVersion(model, to), expected(from, to));
    });
  }
}

t.test('a result without IPs cannot be written at 0.1.0/0.2.0 (code 1)', async (t) => {
  const noIp = { ...emptyResult(), interfaces: [{ name: 'eth0' }] };
  for (const v of ['0.1.0', '0.2.0'] as const) {
    t.throws(() => resultToVersion(noIp, v), { code: 1, message: /no IP address/ });
  }
  t.same(resultToVersion(noIp, '1.0.0'), { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], dns: {} });
});

t.test('malformed results are decode errors (code 6) naming the field', async (t) => {
  const cases: [unknown, SpecVersion, RegExp][] = [
    ['nope', '1.0.0', /must be a JSON object/],
    [{ ips: [{ address: '10.0.0.1' }] }, '1.0.0', /ips\[0\]\.address must be an address in CIDR form/],
    [{ ips: [{ address: '10.0.0.1/24', interface: 3 }], interfaces: [] }, '1.0.0', /ips\[0\]\.interface 3/],
    [{ routes: [{ dst: '0.0.0.0/0', gw: 'x' }] }, '0.4.0', /routes\[0\]\.gw "x" is not an IP/],
    [{ ip4: { ip: '300.1.1.1/24' } }, '0.2.0', /ip4\.ip/],
    [{ dns: { nameservers: 'a' } }, '1.1.0', /dns\.nameservers must be a list/],
  ];
  for (const [raw, v, msg] of cases) {
    const err = t.throws(() => parseResult(raw, v, 'prevResult')) as CniError;
    t.equal(err.code, 6);
    t.match(err.message, msg);
  }
});
