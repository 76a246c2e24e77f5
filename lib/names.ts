// The names this executable answers to as a plugin. No imports, so the build script (run by Node's
// type stripping, which needs ".ts" specifiers) can share the one list with lib/registry.ts and tests.
export const PLUGIN_NAMES = [
  'bridge-route',
  'gre',
  'vxlan',
  'macvlan',
  'ipvlan-l3',
  'portmap',
  'host-local',
] as const;
export type PluginName = (typeof PLUGIN_NAMES)[number];

/** The IPAM plugins among them: the only ones a plugin may delegate to (in-process). */
export const IPAM_NAMES: readonly PluginName[] = ['host-local'];
