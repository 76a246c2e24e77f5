// Entry point of the single executable: pick the plugin from the name we were executed as
// (hard link or symlink; the kernel keeps it in /proc/self/cmdline while Node rewrites argv[0]),
// or from the first argument for `cni-suite <plugin>`. A few words as the first argument select the
// command-line mode (install, help…) or the agent, each loaded only then, so a plugin call never
// pays for it.
import { readFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { CniError, ErrorCode } from './cni/errors.js';
import { main } from './cni/skel.js';
import { CURRENT_VERSION } from './cni/versions.js';
import { isPluginName, loadPlugin, PLUGIN_NAMES } from './registry.js';

const CLI_WORDS = new Set(['install', 'uninstall', 'help', '--help', '-h', '--version']);

function executedAs(): string {
  try {
    return basename(readFileSync('/proc/self/cmdline', 'utf8').split('\0')[0] ?? '');
  } catch {
    return ''; // not Linux: only `cni-suite <plugin>` can name the plugin
  }
}

/** `cni-suite bridge-route`: the plugin named by an argument, when the file name is none. */
function runNamedByArgument(): void {
  const name = process.argv
    .slice(1)
    .map((a) => basename(a))
    .find(isPluginName);
  if (name) void main(name, loadPlugin);
  else refuseUnknownName();
}

/** Nothing names a plugin: the spec's error document, and the reason on stderr for a human. */
function refuseUnknownName(): never {
  const err = new CniError(
    ErrorCode.InvalidEnvironment,
    `cannot tell which plugin to run: install this file under one of the names ${PLUGIN_NAMES.join(', ')}, or run "cni-suite <plugin>"`,
  );
  writeSync(1, `${JSON.stringify(err.toJSON(CURRENT_VERSION))}\n`);
  writeSync(2, `cni-suite: error: ${err.message}; see cni-suite --help\n`);
  process.exit(1);
}

/** `cni-suite agent …`: the long-running etcd agent, loaded only for this word (lib/agent). */
async function runAgent(args: string[]): Promise<void> {
  const { runAgent } = await import('./agent/index.js');
  process.exitCode = await runAgent(args);
  // Whatever the etcd client still holds open (a reconnect timer) must not keep a finished agent.
  setTimeout(() => process.exit(), 100).unref();
}

async function runCli(args: string[]): Promise<never> {
  const { runCommand } = await import('./cli/index.js');
  process.exit(runCommand(args));
}

// A runtime runs us under a plugin's name: that is always the plugin, whatever its arguments.
// Otherwise argv is [executable, executable, …] (Node's single-executable layout).
const argv0 = executedAs();
if (isPluginName(argv0)) void main(argv0, loadPlugin);
else if (process.argv[2] === 'agent') void runAgent(process.argv.slice(3));
else if (CLI_WORDS.has(process.argv[2] ?? '')) void runCli(process.argv.slice(2));
else runNamedByArgument();
