// The options of `install` and `uninstall`. Anything unknown or incomplete is a UsageError
// (exit 2, usage on stderr), found before anything is changed.
import { resolve } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { PLUGIN_NAMES, type PluginName } from '../names.js';

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';

export class UsageError extends Error {}

export interface Options {
  binDir: string;
  confDir: string;
  conflist: string | undefined;
  force: boolean;
  plugins: PluginName[];
}

const DIRS = {
  'bin-dir': { type: 'string' },
  'conf-dir': { type: 'string' },
  conflist: { type: 'string' },
} as const;
const INSTALL = { ...DIRS, force: { type: 'boolean' }, plugins: { type: 'string' } } as const;

export function parseInstallOptions(args: string[]): Options {
  const v = parse(INSTALL, args);
  return { ...paths(v), force: v.force ?? false, plugins: pluginList(v.plugins) };
}

export function parseUninstallOptions(args: string[]): Options {
  return { ...paths(parse(DIRS, args)), force: false, plugins: [...PLUGIN_NAMES] };
}

function parse<T extends ParseArgsOptionsConfig>(options: T, args: string[]) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function paths(v: { 'bin-dir'?: string; 'conf-dir'?: string; conflist?: string }) {
  return {
    binDir: resolve(nonEmpty('--bin-dir', v['bin-dir'] ?? DEFAULT_BIN_DIR)),
    confDir: resolve(nonEmpty('--conf-dir', v['conf-dir'] ?? DEFAULT_CONF_DIR)),
    conflist: v.conflist === undefined ? undefined : resolve(nonEmpty('--conflist', v.conflist)),
  };
}

// An empty value would resolve to the current directory: never what was meant.
function nonEmpty(option: string, value: string): string {
  if (!value) throw new UsageError(`${option} needs a non-empty value`);
  return value;
}

function pluginList(value: string | undefined): PluginName[] {
  if (value === undefined) return [...PLUGIN_NAMES];
  const names = [...new Set(value.split(',').map((s) => s.trim()))].filter(Boolean);
  if (!names.length) throw new UsageError('--plugins needs at least one plugin name');
  for (const n of names)
    if (!(PLUGIN_NAMES as readonly string[]).includes(n))
      throw new UsageError(`--plugins: "${n}" is not one of ${PLUGIN_NAMES.join(', ')}`);
  return names as PluginName[];
}
