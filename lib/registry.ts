// The plugins this executable can be, by the name it is run as. Each is imported only when a verb
// needs it, so VERSION and bad input never pay for plugin code.
import type { Plugin, PluginLoader } from './cni/plugin.js';
import type { Reconcile } from './engine/index.js';
import { PLUGIN_NAMES, type PluginName } from './names.js';

export { PLUGIN_NAMES, type PluginName };

export const isPluginName = (s: string): s is PluginName => (PLUGIN_NAMES as readonly string[]).includes(s);

/** The plugins on the engine: their CNI verbs (default) and the agent's reconcile. */
const ENGINE_PLUGINS: Record<string, () => Promise<{ default: Plugin; reconcile: Reconcile }>> = {
  'bridge-route': () => import('../plugins/bridge-route/index.js'),
  vxlan: () => import('../plugins/vxlan/index.js'),
  macvlan: () => import('../plugins/macvlan/index.js'),
  gre: () => import('../plugins/gre/index.js'),
  'ipvlan-l3': () => import('../plugins/ipvlan-l3/index.js'),
};

/** Not-yet-written plugins load as undefined; skel answers them with a clean CNI error. */
export const loadPlugin: PluginLoader = async (name): Promise<Plugin | undefined> => {
  if (!isPluginName(name)) return undefined;
  switch (name) {
    case 'portmap':
      return (await import('../plugins/portmap/index.js')).default;
    case 'host-local':
      return (await import('../ipam/host-local/index.js')).default;
    default:
      return (await ENGINE_PLUGINS[name]?.())?.default;
  }
};

/** The agent's reconcile of an engine plugin (lib/engine/index.ts reconciler), else undefined. */
export async function loadReconcile(name: string): Promise<Reconcile | undefined> {
  return (await ENGINE_PLUGINS[name]?.())?.reconcile;
}
