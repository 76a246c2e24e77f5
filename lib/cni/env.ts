// The CNI_* environment: which variables each verb needs, and validation of the values
// before any path or device name is built from them.
import { CniError, ErrorCode } from './errors.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'] as const;
export type Command = (typeof COMMANDS)[number];
export type Env = Readonly<Record<string, string | undefined>>;

export interface Invocation {
  command: Command;
  containerId: string;
  /** Path of the container's netns; '' when the runtime gave none (allowed on DEL). */
  netns: string;
  ifname: string;
  /** Raw CNI_ARGS. */
  args: string;
  /** CNI_PATH split into directories. */
  path: string[];
}

type Var = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH';

/** Spec 1.1.0 section 2 "Parameters" and each verb's "Input". */
function requiredVars(command: Command): Var[] {
  switch (command) {
    case 'ADD':
    case 'CHECK':
      return ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'];
    case 'DEL':
      return ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'];
    case 'GC':
    case 'STATUS':
      return ['CNI_PATH'];
    case 'VERSION':
      return [];
  }
}

const envError = (msg: string) => new CniError(ErrorCode.InvalidEnvironment, msg);

export function parseCommand(env: Env): Command {
  const cmd = env.CNI_COMMAND;
  if (!cmd) throw envError('required environment variable CNI_COMMAND is missing');
  if (!(COMMANDS as readonly string[]).includes(cmd)) {
    throw envError(`CNI_COMMAND "${cmd}" is not one of ${COMMANDS.join(', ')}`);
  }
  return cmd as Command;
}

export function parseInvocation(command: Command, env: Env): Invocation {
  const missing = requiredVars(command).filter((v) => !env[v]);
  if (missing.length)
    throw envError(`required environment variables missing for ${command}: ${missing.join(', ')}`);
  const inv: Invocation = {
    command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
  if (inv.containerId) validateContainerId(inv.containerId);
  if (inv.ifname) validateIfname(inv.ifname);
  if (inv.netns && !inv.netns.startsWith('/'))
    throw envError(`CNI_NETNS "${inv.netns}" must be an absolute path`);
  return inv;
}

const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateContainerId(id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw envError(
      `CNI_CONTAINERID "${id}" is invalid: it must start with a letter or digit, followed by letters, digits, "_", "." or "-"`,
    );
  }
}

/** Linux interface names: 1–15 bytes, not "." or "..", no "/", ":" or whitespace. */
export function validateIfname(name: string): void {
  const problem =
    Buffer.byteLength(name) > 15
      ? 'is longer than 15 bytes'
      : name === '.' || name === '..'
        ? 'is a reserved name'
        : /[/:\s]/.test(name)
          ? 'contains "/", ":" or whitespace'
          : undefined;
  if (problem) throw envError(`CNI_IFNAME "${name}" ${problem}`);
}

/** Network names follow the container-ID rule (they become directory names). */
export function validateNetworkName(name: string): void {
  if (!ID_PATTERN.test(name)) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `name "${name}" is invalid: it must start with a letter or digit, followed by letters, digits, "_", "." or "-"`,
    );
  }
}
