// Every conflist in conf-examples/ runs for real: ADD (through the whole chain, as a runtime runs
// it), CHECK, GC and STATUS (at cniVersion 1.1.0, which they need), DEL. File paths are redirected to temp dirs.
// A file is `<plugin>.<client>.conflist`; its peersFile is `<plugin>-peers.json`.
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { PLUGIN_NAMES } from '../../lib/names.js';
import { Cluster, type ClusterHost, type ClusterOptions } from '../helpers/cluster.js';
import { bin, type ChainStep, callPlugin, ROOT, runChain } from '../helpers/plugin.js';

const DIR = join(ROOT, 'conf-examples');
const OURS = new Set<string>(PLUGIN_NAMES);
/** Plugins this machine's kernel cannot run: test/kernel runs their examples inside the VM. */
const KERNEL_TIER = new Set(['gre', 'ipvlan-l3']);
/** The plugin an example is for: its file name up to the first dot. */
const pluginOf = (file: string) => file.slice(0, file.indexOf('.'));
const conflists = readdirSync(DIR).filter((f) => f.endsWith('.conflist') && !KERNEL_TIER.has(pluginOf(f)));
/** The cluster each plugin's examples run on. */
const CLUSTERS: Record<string, ClusterOptions> = {
  'bridge-route': { hosts: 2 },
  vxlan: { hosts: 2, underlay: 'routed', plugin: 'vxlan' },
  macvlan: { hosts: 2, plugin: 'macvlan' },
};
/** The pod address each plugin's examples hand out on host 1. */
const POD_ADDRESS: Record<string, RegExp> = {
  'bridge-route': /10\.244\.1\.\d+\/24/,
  vxlan: /10\.244\.1\.\d+\/24/,
  macvlan: /192\.168\.100\.1[01]\d\/24/,
};

type Json = Record<string, unknown>;

/** The per-plugin config libcni builds from a conflist entry, with paths moved under `tmp`. */
function pluginConf(plugin: string, list: Json, entry: Json, tmp: string): Json {
  const conf: Json = { cniVersion: list.cniVersion, name: list.name, ...entry };
  if (conf.ipam) conf.ipam = { ...(conf.ipam as Json), dataDir: join(tmp, 'ipam') };
  if (conf.peersFile) {
    copyFileSync(join(DIR, `${plugin}-peers.json`), join(tmp, 'peers.json'));
    conf.peersFile = join(tmp, 'peers.json');
  }
  const caps = (entry.capabilities ?? {}) as Json;
  if (caps.portMappings)
    conf.runtimeConfig = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
  return conf;
}

t.test('every conflist has a runner here', async (t) => {
  t.ok(conflists.length > 0);
  for (const f of conflists) {
    const plugin = pluginOf(f);
    t.ok(OURS.has(plugin) && CLUSTERS[plugin] && POD_ADDRESS[plugin], `${f} is covered by this test`);
  }
});

for (const file of conflists.filter((f) => OURS.has(pluginOf(f)) && CLUSTERS[pluginOf(f)])) {
  const plugin = pluginOf(file);
  t.test(file, async (t) => {
    const list = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Json;
    const c = await Cluster.create(t, CLUSTERS[plugin]);
    const [h1] = c.hosts as [ClusterHost];
    const tmp = t.testdir({});
    const steps: ChainStep[] = (list.plugins as Json[]).map((p) => ({
      file: OURS.has(p.type as string) ? bin(p.type as string) : `/usr/lib/cni/${p.type}`,
      conf: pluginConf(plugin, list, p, tmp),
    }));
    const pod = await c.lab.container('pod');
    const call = {
      containerId: 'example1',
      netns: pod.path,
      ifname: 'eth0',
      hostNetns: h1.name,
      path: `${bin('')}:/usr/lib/cni`,
    };
    const add = await runChain('ADD', steps, call);
    t.notOk(add.failed, `ADD ${add.failed?.stdout ?? ''}`);
    t.match(JSON.stringify(add.result), POD_ADDRESS[plugin]!, 'pod got an address of the example subnet');
    if (list.cniVersion !== '0.3.1') {
      // The reference portmap fails its own CHECK when ip6tables exists; see bridge-route-interop.
      const check = await runChain(
        'CHECK',
        steps.filter((s) => s.file !== '/usr/lib/cni/portmap'),
        call,
        add.result,
      );
      t.notOk(check.failed, `CHECK ${check.failed?.stdout ?? ''}`);
    }
    {
      // GC and STATUS came with cniVersion 1.1.0: asked of the same config at that version.
      const ours = { ...steps[0]!, conf: { ...steps[0]!.conf, cniVersion: '1.1.0' } };
      const gc = await callPlugin(
        plugin,
        { ...ours.conf, 'cni.dev/valid-attachments': [{ containerID: 'example1', ifname: 'eth0' }] },
        { command: 'GC', hostNetns: h1.name, path: call.path },
      );
      t.equal(gc.exitCode, 0, `GC ${gc.stdout}`);
      const status = await callPlugin(plugin, ours.conf, {
        command: 'STATUS',
        hostNetns: h1.name,
        path: call.path,
      });
      t.equal(status.exitCode, 0, `STATUS ${status.stdout}`);
    }
    const del = await runChain('DEL', steps, call, add.result);
    t.notOk(del.failed, `DEL ${del.failed?.stdout ?? ''}`);
  });
}
