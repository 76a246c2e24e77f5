// The plugins this executable can be, by the name it is run as. Each is imported only when a verb
// needs it, so VERSION and bad input never pay for plugin code.
import type { Plugin, PluginLoader } from './cni/plugin.js';
import type { Reconcile } from './engine/index.js';
import { PLUGIN_NAMES, type PluginName } from './names.js';

export { PLUGIN_NAMES, type PluginName };

export const isPluginName = (s: string): s is PluginName => (PLUGIN_NAMES as readonly string[]).includes(s);

/** Not-yet-written plugins load as undefined; skel answers them with a clean CNI error. */
export const loadPlugin: PluginLoader = async (name): Promise<Plugin | undefined> => {
  if (!isPluginName(name)) return undefined;
  switch (name) {
    case 'bridge-route':
      return (await import('../plugins/bridge-route/index.js')).default;
    case 'vxlan':
      return (await import('../plugins/vxlan/index.js')).default;
    case 'macvlan':
      return (await import('../plugins/macvlan/index.js')).default;
    case 'gre':
      return (await import('../plugins/gre/index.js')).default;
    case 'ipvlan-l3':
      return (await import('../plugins/ipvlan-l3/index.js')).default;
    case 'portmap':
      return (await import('../plugins/portmap/index.js')).default;
    case 'host-local':
      return (await import('../ipam/host-local/index.js')).default;
  }
};

/** The agent's reconcile of an engine plugin (lib/engine/index.ts reconciler), else undefined. */
export async function loadReconcile(name: string): Promise<Reconcile | undefined> {
  switch (name) {
    case 'bridge-route':
      return (await import('../plugins/bridge-route/index.js')).reconcile;
    case 'vxlan':
      return (await import('../plugins/vxlan/index.js')).reconcile;
    case 'macvlan':
      return (await import('../plugins/macvlan/index.js')).reconcile;
    case 'gre':
      return (await import('../plugins/gre/index.js')).reconcile;
    case 'ipvlan-l3':
      return (await import('../plugins/ipvlan-l3/index.js')).reconcile;
    default:
      return undefined;
  }
}
