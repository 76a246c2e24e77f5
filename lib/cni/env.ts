// The CNI_* environment: which variables each verb needs, and validation of the values
// before any path or device name is built from them.
import { CniError, configError, ErrorCode } from './errors.js';

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
  /** CNI_PATH split into directories: the absolute ones (runtimes pass those; a relative one would
   *  resolve against whatever directory the runtime runs us in, where anyone may plant a plugin). */
  path: string[];
  /** The relative CNI_PATH entries left out (logged as a warning). */
  ignoredPath: string[];
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
    path: (env.CNI_PATH ?? '').split(':').filter((d) => d.startsWith('/')),
    ignoredPath: (env.CNI_PATH ?? '').split(':').filter((d) => d && !d.startsWith('/')),
  };
  if (inv.containerId) validateContainerId(inv.containerId);
  if (inv.ifname) validateIfname(inv.ifname);
  if (inv.netns) validateNetns(inv.netns);
  return inv;
}

/**
 * What an `ip -batch` line cannot carry (iproute2 splits on whitespace, starts a comment at "#" and
 * reads quotes and backslashes as syntax), plus control characters: refused in every value that
 * becomes a device name, path or alias.
 */
const BATCH_UNSAFE = /[\s#'"\\\p{Cc}]/u;

function refuseBatchUnsafe(variable: Var, value: string): void {
  const bad = BATCH_UNSAFE.exec(value)?.[0];
  if (bad === undefined) return;
  throw envError(
    `${variable} ${JSON.stringify(value)} contains ${describeChar(bad)}; whitespace, "#", quotes, backslashes and control characters are not allowed`,
  );
}

function describeChar(c: string): string {
  if (c === ' ') return 'a space';
  if (c === '\\') return 'a backslash';
  if (c === '"') return 'a double quote';
  if (c === "'") return 'a single quote';
  const hex = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (/\p{Cc}/u.test(c)) return `control character ${hex}`;
  if (/\s/.test(c)) return `whitespace ${hex}`;
  return `"${c}"`;
}

const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Keeps the link alias cni-suite/<network>/<containerID>/<ifname> within the kernel's 255 bytes. */
export const MAX_CONTAINER_ID_BYTES = 128;
export const MAX_NETWORK_NAME_BYTES = 64;

export function validateContainerId(id: string): void {
  refuseBatchUnsafe('CNI_CONTAINERID', id);
  if (!ID_PATTERN.test(id)) {
    throw envError(
      `CNI_CONTAINERID "${id}" is invalid: it must start with a letter or digit, followed by letters, digits, "_", "." or "-"`,
    );
  }
  if (Buffer.byteLength(id) > MAX_CONTAINER_ID_BYTES)
    throw envError(
      `CNI_CONTAINERID is ${Buffer.byteLength(id)} bytes long; at most ${MAX_CONTAINER_ID_BYTES} are allowed`,
    );
}

export function validateNetns(path: string): void {
  refuseBatchUnsafe('CNI_NETNS', path);
  if (!path.startsWith('/')) throw envError(`CNI_NETNS "${path}" must be an absolute path`);
}

/** Linux interface names: 1–15 bytes, not "." or "..", no "/" or ":" (and nothing ip -batch cannot carry). */
export function validateIfname(name: string): void {
  refuseBatchUnsafe('CNI_IFNAME', name);
  const problem =
    Buffer.byteLength(name) > 15
      ? 'is longer than 15 bytes'
      : ['.', '..', 'all', 'default'].includes(name)
        ? 'is a name the kernel reserves'
        : /[/:]/.test(name)
          ? 'contains "/" or ":"'
          : name.includes('%')
            ? 'contains "%" (the kernel would number it: "eth%d" becomes "eth0")'
            : undefined;
  if (problem) throw envError(`CNI_IFNAME "${name}" ${problem}`);
}

/** Network names follow the container-ID rule (they become directory names and part of the alias). */
export function validateNetworkName(name: string): void {
  if (!ID_PATTERN.test(name)) {
    throw configError(
      `name ${JSON.stringify(name)} is invalid: it must start with a letter or digit, followed by letters, digits, "_", "." or "-"`,
    );
  }
  if (Buffer.byteLength(name) > MAX_NETWORK_NAME_BYTES)
    throw configError(
      `name is ${Buffer.byteLength(name)} bytes long; at most ${MAX_NETWORK_NAME_BYTES} are allowed`,
    );
}
