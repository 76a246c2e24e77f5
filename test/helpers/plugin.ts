// Runs the built executable the way a runtime does: env + stdin in, one JSON document out.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { execa } from 'execa';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'dist/bin');
export const bin = (name: string) => resolve(BIN, name);
const IP = existsSync('/usr/sbin/ip') ? '/usr/sbin/ip' : 'ip';

export interface PluginRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The parsed stdout, or undefined when stdout is empty. Throws when stdout is not one JSON document. */
  json: Record<string, unknown> | undefined;
}

export interface PluginCall {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
  /** Extra or overriding env; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /** Run inside this named netns (a simulated host). */
  hostNetns?: string;
}

/** Calls plugin `name` with the config `conf` (an object, or a raw string for bad-input tests). */
export function callPlugin(name: string, conf: unknown, call: PluginCall): Promise<PluginRun> {
  return callFile(bin(name), conf, call);
}

/** Calls the plugin executable `file` (ours or a reference one). */
export async function callFile(file: string, conf: unknown, call: PluginCall): Promise<PluginRun> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifname,
    CNI_ARGS: call.args,
    CNI_PATH: call.path ?? BIN,
    ...call.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  // `ip` by absolute path: the env given to the plugin may hold a PATH without it.
  const [cmd, args] = call.hostNetns ? [IP, ['netns', 'exec', call.hostNetns, file]] : [file, []];
  const r = await execa(cmd, args, {
    input: typeof conf === 'string' ? conf : JSON.stringify(conf),
    env: env as Record<string, string>,
    extendEnv: false,
    reject: false,
  });
  return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr, json: oneDocument(r.stdout) };
}

function oneDocument(stdout: string): Record<string, unknown> | undefined {
  if (stdout === '') return undefined;
  // JSON.parse rejects trailing content, so this also proves there is exactly one document.
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** One plugin of a conflist, run as libcni does: same name/cniVersion, prevResult threaded through. */
export interface ChainStep {
  /** Executable to run (absolute path). */
  file: string;
  conf: Record<string, unknown>;
}

/** Runs ADD through the chain (or DEL in reverse), as a runtime does with a conflist. */
export async function runChain(
  command: 'ADD' | 'DEL' | 'CHECK',
  steps: ChainStep[],
  call: Omit<PluginCall, 'command'>,
  prevResult?: unknown,
): Promise<{ result: Record<string, unknown> | undefined; failed?: PluginRun }> {
  let prev = prevResult;
  const order = command === 'DEL' ? [...steps].reverse() : steps;
  for (const step of order) {
    const conf = prev === undefined ? step.conf : { ...step.conf, prevResult: prev };
    const r = await callFile(step.file, conf, { ...call, command });
    if (r.exitCode !== 0) return { result: undefined, failed: r };
    if (command === 'ADD') prev = r.json;
  }
  return { result: prev as Record<string, unknown> | undefined };
}
