// The one way this suite starts a program: an argv array (never a shell), stdout and stderr
// captured, a time limit on every child, a failure thrown as CommandError carrying what the program said.
// node:child_process rather than execa on this path: every ADD starts a Node process, and execa's
// import and first call cost ~30 ms there (see README "Benchmarks"); execa serves scripts and tests.
import { CniError, ErrorCode } from '../cni/errors.js';
import { childProcess } from './builtins.js';
import { findExecutable } from './files.js';
import { inheritedFds } from './lock.js';

/** A hung `ip`, `nft` or IPAM child must not hang the runtime's call with it. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFail?: boolean;
  /** SIGKILL the child and reject with code 11 after this long; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The program is not installed (not on PATH). */
export class NotInstalledError extends Error {
  constructor(readonly file: string) {
    super(`${file}: not found; install it (see README "Requirements")`);
    this.name = 'NotInstalledError';
  }
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

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = opts.env ?? process.env;
    let program: string;
    try {
      program = toolPath(file, env);
    } catch (e) {
      reject(e);
      return;
    }
    // Children hold our locks too (see lock.ts), so a killed plugin's children still hold them.
    const child = childProcess().spawn(program, args, {
      env,
      stdio: ['pipe', 'pipe', 'pipe', ...inheritedFds()],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Rejects at once: a grandchild holding the pipes open would delay 'close' past the kill.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const msg = `${[file, ...args].join(' ')}: timed out after ${timeoutMs} ms and was killed`;
      reject(new CniError(ErrorCode.TryAgainLater, msg));
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new NotInstalledError(file) : e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      };
      if (result.code !== 0 && !opts.allowFail) reject(new CommandError([file, ...args], result));
      else resolve(result);
    });
    // A child that exits before reading its stdin must not crash us with EPIPE.
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}
