// Entry point of the single executable: pick the plugin from the name we were executed as
// (hard link or symlink; the kernel keeps it in /proc/self/cmdline while Node rewrites argv[0]),
// or from the first argument for `cni-suite <plugin>`.
import { readFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { CniError, ErrorCode } from './cni/errors.js';
import { main } from './cni/skel.js';
import { CURRENT_VERSION } from './cni/versions.js';
import { isPluginName, loadPlugin, PLUGIN_NAMES } from './registry.js';

function invokedAs(): string | undefined {
  let argv0 = '';
  try {
    argv0 = readFileSync('/proc/self/cmdline', 'utf8').split('\0')[0] ?? '';
  } catch {
    // not Linux; fall back to argv below
  }
  const candidates = [argv0, ...process.argv.slice(1)].map((a) => basename(a));
  return candidates.find(isPluginName);
}

const name = invokedAs();
if (name) {
  void main(name, loadPlugin);
} else {
  const err = new CniError(
    ErrorCode.InvalidEnvironment,
    `cannot tell which plugin to run: install this file under one of the names ${PLUGIN_NAMES.join(', ')}, or run "cni-suite <plugin>"`,
  );
  writeSync(1, `${JSON.stringify(err.toJSON(CURRENT_VERSION))}\n`);
  process.exit(1);
}
