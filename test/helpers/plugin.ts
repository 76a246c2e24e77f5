// Runs the built executable the way a runtime does: env + stdin in, one JSON document out.

import { resolve } from 'node:path';
import { execa } from 'execa';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'dist/bin');
export const bin = (name: string) => resolve(BIN, name);

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
export async function callPlugin(name: string, conf: unknown, call: PluginCall): Promise<PluginRun> {
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
  const [file, args] = call.hostNetns
    ? ['ip', ['netns', 'exec', call.hostNetns, bin(name)]]
    : [bin(name), []];
  const r = await execa(file, args, {
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
