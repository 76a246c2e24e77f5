// The one way this suite starts a program: an argv array (never a shell), stdout and stderr
// captured, a time limit on every child, a failure thrown as CommandError carrying what the program said.
// The addon's posix_spawn (native/spawn.c) where it loads, else node:child_process; not execa on this
// path: every ADD starts a Node process, and execa's import and first call cost ~30 ms there (see
// README "Benchmarks"); execa serves scripts and tests.
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { NotInstalledError, TimeoutError } from '../base/errors.js';
import { type Addon, addon } from './addon.js';
import { childProcess } from './builtins.js';

export { NotInstalledError };

import { findExecutable } from './files.js';
import { inheritedFds } from './lock.js';

/** A hung `ip`, `nft` or IPAM child must not hang the runtime's call with it. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFail?: boolean;
  /** SIGKILL the child and reject with a TimeoutError after this long; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    const said = result.stderr.trim() || result.stdout.trim() || `exit code ${result.code}`;
    super(`${argv.join(' ')}: ${said}`);
    this.name = 'CommandError';
  }
}

/** The search path when the runtime gave the plugin no PATH at all. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const resolved = new Map<string, string>();

/** A bare program name as a path, from PATH's absolute entries (a relative one would resolve
 *  against whatever directory the runtime runs us in). */
function toolPath(file: string, env: NodeJS.ProcessEnv): string {
  if (file.includes('/')) return file;
  const path = env.PATH ?? DEFAULT_PATH;
  const key = `${path}\0${file}`;
  const known = resolved.get(key);
  if (known) return known;
  const found = findExecutable(
    file,
    path.split(':').filter((d) => d.startsWith('/')),
  );
  if (!found) throw new NotInstalledError(file);
  resolved.set(key, found);
  return found;
}

/** The program can be run (found as run() would find it). */
export function hasTool(file: string, env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    toolPath(file, env);
    return true;
  } catch {
    return false;
  }
}

export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = opts.env ?? process.env;
  const start: Start = {
    program: toolPath(file, env),
    file,
    args,
    env,
    input: opts.input ?? '',
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  const native = addon();
  const result = native ? await spawnByAddon(native, start) : await spawnByNode(start);
  if (result.code !== 0 && !opts.allowFail) throw new CommandError([file, ...args], result);
  return result;
}

/** A program to start: `program` is `file` found on PATH. */
interface Start {
  program: string;
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  input: string;
  timeoutMs: number;
}

const timedOut = (s: Start) =>
  new TimeoutError(`${[s.file, ...s.args].join(' ')}: timed out after ${s.timeoutMs} ms and was killed`);

/** posix_spawn through the addon (native/spawn.c): the cheap path. */
async function spawnByAddon(native: Addon, s: Start): Promise<RunResult> {
  const vars = Object.entries(s.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  // Children hold our locks too (see lock.ts), so a killed plugin's children still hold them.
  const r = await native.spawn(s.program, [s.program, ...s.args], vars, s.input, inheritedFds(), s.timeoutMs);
  if ('error' in r) {
    if (r.error === constants.errno.ENOENT) throw new NotInstalledError(s.file);
    const code = getSystemErrorName(-r.error);
    throw Object.assign(new Error(`${s.program}: cannot start: ${code}`), { code });
  }
  if (r.timedOut) throw timedOut(s);
  return { code: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** node:child_process, where the addon cannot be loaded. */
function spawnByNode(s: Start): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn(s.program, s.args, {
      env: s.env,
      stdio: ['pipe', 'pipe', 'pipe', ...inheritedFds()],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    // Rejects at once: a grandchild holding the pipes open would delay 'close' past the kill.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(timedOut(s));
    }, s.timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new NotInstalledError(s.file) : e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
    // A child that exits before reading its stdin must not crash us with EPIPE.
    child.stdin!.on('error', () => {});
    child.stdin!.end(s.input);
  });
}
