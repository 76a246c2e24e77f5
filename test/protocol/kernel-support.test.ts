// STATUS on this machine's kernel, which has no GRE (and no ipvlan): the plugins that need them
// answer 50 naming what is missing, so a runtime learns it before any ADD. Their real behaviour is
// tested inside the Debian kernel (test/kernel).
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import t from 'tap';
import { BIN, callPlugin } from '../helpers/plugin.js';

const ipam = { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/24' }]] };
const lacks = (module: string) =>
  !existsSync(`/sys/module/${module}`) && !existsSync(`/lib/modules/${release()}/modules.dep`);

t.test('gre STATUS: 50 when the kernel has no GRE', async (t) => {
  t.ok(lacks('ip_gre'), 'this kernel has no ip_gre, loaded or installed (the premise)');
  const conf = { cniVersion: '1.1.0', name: 'gre-status', type: 'gre', ipam };
  const r = await callPlugin('gre', conf, { command: 'STATUS', path: BIN });
  t.equal(r.exitCode, 1);
  t.match(r.json, { code: 50, msg: /has no GRE: module ip_gre/ });
  const v6 = await callPlugin('gre', { ...conf, localIP: 'fd00::1' }, { command: 'STATUS', path: BIN });
  t.match(v6.json, { code: 50, msg: /module ip6_gre/ }, 'an IPv6 underlay needs ip6_gre');
  // The positive control: the same call for a plugin this kernel supports succeeds.
  const vxlan = await callPlugin('vxlan', { ...conf, type: 'vxlan' }, { command: 'STATUS', path: BIN });
  t.equal(vxlan.exitCode, 0, `vxlan STATUS on the same kernel: ${vxlan.stdout}`);
});

t.test('ipvlan-l3 STATUS: 50 when the kernel has no ipvlan; the master is not looked up', async (t) => {
  t.ok(lacks('ipvlan'), 'this kernel has no ipvlan, loaded or installed (the premise)');
  const conf = { cniVersion: '1.1.0', name: 'ipvlan-status', type: 'ipvlan-l3', master: 'no-such0', ipam };
  const r = await callPlugin('ipvlan-l3', conf, { command: 'STATUS', path: BIN });
  t.equal(r.exitCode, 1);
  t.match(r.json, { code: 50, msg: /has no ipvlan: module ipvlan/ });
});
