// The route proto table: one number per plugin, none shared, none that iproute2 names for the
// kernel or a routing daemon, and each engine plugin marks its routes with its own.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { ROUTE_PROTOS } from '../../lib/plan/route-protos.js';
import { net as bridgeRoute } from '../../plugins/bridge-route/index.js';
import { net as gre } from '../../plugins/gre/index.js';
import { net as ipvlan } from '../../plugins/ipvlan-l3/index.js';
import { net as macvlan } from '../../plugins/macvlan/index.js';
import { net as vxlan } from '../../plugins/vxlan/index.js';

t.test('every plugin has a proto of its own', async (t) => {
  const values = Object.values(ROUTE_PROTOS);
  t.equal(new Set(values).size, values.length, `no two plugins share one: ${values.join(', ')}`);
  for (const v of values) t.ok(v > 0 && v < 256, `${v} fits the kernel's 8-bit field`);
});

t.test('none is a number iproute2 gives the kernel or a routing daemon', async (t) => {
  const files = ['/usr/share/iproute2/rt_protos', '/etc/iproute2/rt_protos'].filter(existsSync);
  t.ok(files.length, `iproute2's table is there to compare with: ${files.join(', ')}`);
  const named = new Map<number, string>();
  for (const f of files)
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = /^\s*(\d+)\s+(\S+)/.exec(line);
      if (m) named.set(Number(m[1]), m[2]!);
    }
  t.ok(named.get(2) === 'kernel', 'the control: the kernel (2) is named there');
  for (const [plugin, v] of Object.entries(ROUTE_PROTOS))
    t.notOk(named.get(v), `${plugin}'s ${v} is nobody's there`);
});

t.test('each engine plugin uses its entry', async (t) => {
  const plugins = { 'bridge-route': bridgeRoute, vxlan, macvlan, gre, 'ipvlan-l3': ipvlan };
  for (const [name, p] of Object.entries(plugins))
    t.equal(p.routeProto, ROUTE_PROTOS[name as keyof typeof ROUTE_PROTOS], `${name}: proto ${p.routeProto}`);
});
