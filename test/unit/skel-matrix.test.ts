// The protocol edge in-process: every verb × every cniVersion against a stub plugin that only records
// what reached it. Allowed pairs reach the verb (ADD's result printed in the caller's version),
// the others get code 1 without loading the plugin.
import t from 'tap';
import type { Plugin, PluginLoader, Request } from '../../lib/cni/plugin.js';
import type { Result } from '../../lib/cni/result.js';
import { execute } from '../../lib/cni/skel.js';
import { resultFamily, SPEC_VERSIONS, type SpecVersion } from '../../lib/cni/versions.js';
import { Lab } from '../helpers/lab.js';

// ADD and CHECK need a netns that exists and is not the caller's own.
const lab = await Lab.create(t);
const pod = await lab.container('pod');

const VERBS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'] as const;
type Verb = (typeof VERBS)[number];
const MINIMUM: Record<Verb, SpecVersion> = {
  ADD: '0.1.0',
  DEL: '0.1.0',
  CHECK: '0.4.0',
  GC: '1.1.0',
  STATUS: '1.1.0',
};

const RESULT: Result = {
  interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1450, sandbox: pod.path }],
  ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400 }],
  dns: { nameservers: ['10.1.0.1'] },
};

/** ADD's result as a caller at `v` must see it. */
function expectedAdd(v: SpecVersion): Record<string, unknown> {
  const dns = { nameservers: ['10.1.0.1'] };
  const iface = { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: pod.path };
  switch (resultFamily(v)) {
    case 'legacy':
      return {
        cniVersion: v,
        ip4: { ip: '10.1.0.5/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] },
        dns,
      };
    case 'ips-versioned':
      return {
        cniVersion: v,
        interfaces: [iface],
        ips: [{ version: '4', interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' }],
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
        dns,
      };
    case 'v1': {
      // 1.1.0 keeps the fields it added (interface mtu, route mtu); 1.0.0 drops them.
      const is11 = v === '1.1.0';
      return {
        cniVersion: v,
        interfaces: [is11 ? { ...iface, mtu: 1450 } : iface],
        ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
        routes: [
          is11 ? { dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400 } : { dst: '0.0.0.0/0', gw: '10.1.0.1' },
        ],
        dns,
      };
    }
  }
}

/** A plugin that is never real: each verb records its request and succeeds; ADD returns RESULT. */
function stub() {
  const calls: { verb: Verb; req: Request }[] = [];
  const record = (verb: Verb) => async (req: Request) => {
    calls.push({ verb, req });
  };
  const plugin: Plugin = {
    add: async (req) => {
      calls.push({ verb: 'ADD', req });
      return structuredClone(RESULT);
    },
    del: record('DEL'),
    check: record('CHECK'),
    gc: record('GC'),
    status: record('STATUS'),
  };
  const s = {
    calls,
    loads: 0,
    load: (async (name) => {
      s.loads++;
      return name === 'stub' ? plugin : undefined;
    }) as PluginLoader,
  };
  return s;
}

const envFor = (command: string, over: Record<string, string | undefined> = {}) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: 'ctr1',
  CNI_NETNS: pod.path,
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/nonexistent',
  ...over,
});

t.test('every verb × every cniVersion reaches the plugin, or gets code 1 without loading it', async (t) => {
  for (const verb of VERBS) {
    for (const v of SPEC_VERSIONS) {
      const what = `${verb} at ${v}`;
      const s = stub();
      const conf = { cniVersion: v, name: 'net1', type: 'stub', 'cni.dev/valid-attachments': [] };
      const out = await execute('stub', envFor(verb), JSON.stringify(conf), s.load);
      const allowed = SPEC_VERSIONS.indexOf(v) >= SPEC_VERSIONS.indexOf(MINIMUM[verb]);
      if (!allowed) {
        t.equal(out.code, 1, `${what}: exit 1`);
        t.match(JSON.parse(out.stdout), { cniVersion: v, code: 1, msg: new RegExp(`${verb} needs`) }, what);
        t.equal(s.loads, 0, `${what}: the plugin is not loaded`);
        continue;
      }
      t.equal(out.code, 0, `${what}: exit 0 (${out.stdout})`);
      t.same(
        s.calls.map((c) => c.verb),
        [verb],
        `${what}: reaches the verb once`,
      );
      t.match(s.calls[0]?.req, { command: verb, containerId: 'ctr1', conf: { cniVersion: v, name: 'net1' } });
      if (verb === 'ADD') t.same(JSON.parse(out.stdout), expectedAdd(v), `${what}: result in the ${v} shape`);
      else t.equal(out.stdout, '', `${what}: prints nothing`);
    }
  }
});

t.test('DEL reaches the plugin with an empty or missing CNI_NETNS', async (t) => {
  for (const netns of ['', undefined]) {
    const s = stub();
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'stub' });
    const out = await execute('stub', envFor('DEL', { CNI_NETNS: netns }), conf, s.load);
    t.equal(out.code, 0, `netns=${JSON.stringify(netns)}`);
    t.match(s.calls, [{ verb: 'DEL', req: { netns: '' } }]);
  }
});

t.test('a name the loader does not know answers code 100 after all edge checks', async (t) => {
  const s = stub();
  const conf = JSON.stringify({ cniVersion: '0.4.0', name: 'net1', type: 'other' });
  const out = await execute('other', envFor('ADD'), conf, s.load);
  t.equal(out.code, 1);
  t.match(JSON.parse(out.stdout), {
    cniVersion: '0.4.0',
    code: 100,
    msg: /plugin "other" is not implemented/,
  });
  t.equal(s.loads, 1);
});

t.test('VERSION needs neither stdin nor the plugin', async (t) => {
  const s = stub();
  const out = await execute('stub', { CNI_COMMAND: 'VERSION' }, '', s.load);
  t.same(JSON.parse(out.stdout), { cniVersion: '1.1.0', supportedVersions: [...SPEC_VERSIONS] });
  t.equal(s.loads, 0);
});
