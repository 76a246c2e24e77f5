// Delegation to the IPAM plugin named by `ipam.type` (spec 1.1.0 section 4): find it in CNI_PATH,
// run it with our env (CNI_COMMAND replaced) and the same config on stdin, read its result or error.
// When the file found is this very executable (the suite's hard links), run it in-process instead:
// same env, same stdin, same output, one Node start saved per call.
import { IPAM_NAMES } from '../names.js';
import { findExecutable, isSameFile } from '../sys/files.js';
import { run } from '../sys/run.js';
import type { Command, Env } from './env.js';
import { CniError, configError, ErrorCode } from './errors.js';
import type { Logger } from './log.js';
import type { IpamDelegate } from './plugin.js';
import { parseResult } from './result.js';
import type { SpecVersion } from './versions.js';

/** What a plugin run produced: exactly what would be on stdout, and the exit code. */
export interface Outcome {
  stdout: string;
  code: number;
}
export type InProcessRunner = (plugin: string, env: Env, stdin: string) => Promise<Outcome>;

export interface DelegateContext {
  type: string;
  env: Env;
  path: string[];
  stdin: string;
  cniVersion: SpecVersion;
  log: Logger;
  runInProcess: InProcessRunner;
}

/** A plugin delegating to a plugin delegating…: past this depth the chain is taken to loop. */
const MAX_DELEGATION_DEPTH = 4;

export function createIpamDelegate(ctx: DelegateContext): IpamDelegate {
  const call = (command: Command) => invoke(ctx, command);
  return {
    type: ctx.type,
    add: async () => {
      const out = await call('ADD');
      return parseResult(parseJson(out, ctx.type), ctx.cniVersion, `${ctx.type} result`);
    },
    del: async () => {
      // DEL is total: with the IPAM binary gone there is nothing to release through it.
      const file = findExecutable(ctx.type, ctx.path);
      if (!file) return ctx.log.warn(`IPAM DEL skipped: no "${ctx.type}" in CNI_PATH`);
      await invoke(ctx, 'DEL', file);
    },
    check: async () => void (await call('CHECK')),
    gc: async () => void (await call('GC')),
    status: async () => void (await call('STATUS')),
  };
}

async function invoke(
  ctx: DelegateContext,
  command: Command,
  file = findExecutable(ctx.type, ctx.path),
): Promise<string> {
  if (!file) {
    throw configError(
      `ipam.type "${ctx.type}": no executable of that name in CNI_PATH (${ctx.path.join(':') || 'empty'})`,
    );
  }
  const self = isSameFile(file, '/proc/self/exe');
  if (self && !(IPAM_NAMES as readonly string[]).includes(ctx.type))
    throw configError(
      `ipam.type "${ctx.type}" is a network plugin, not an IPAM plugin; use e.g. "host-local"`,
    );
  // Each delegation counts itself in the env, so a chain of plugins that comes back to itself ends.
  const depth = Number(ctx.env.CNI_SUITE_DELEGATION_DEPTH ?? 0) || 0;
  if (depth >= MAX_DELEGATION_DEPTH)
    throw configError(
      `ipam.type "${ctx.type}": delegation is ${depth} plugins deep; does the chain come back to itself?`,
    );
  const env = { ...ctx.env, CNI_COMMAND: command, CNI_SUITE_DELEGATION_DEPTH: String(depth + 1) };
  ctx.log.debug(`delegating ${command} to ${file}`);
  const outcome = self
    ? await ctx.runInProcess(ctx.type, env, ctx.stdin)
    : await run(file, [], { input: ctx.stdin, env: env as NodeJS.ProcessEnv, allowFail: true });
  if (outcome.code === 0) return outcome.stdout;
  throw delegatedError(ctx.type, command, outcome.stdout);
}

function parseJson(stdout: string, type: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `IPAM plugin "${type}" printed something that is not JSON: ${stdout.slice(0, 200)}`,
    );
  }
}

/** The delegate's own error, code and message kept, so the runtime sees the real cause. */
function delegatedError(type: string, command: Command, stdout: string): CniError {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.code === 'number' && typeof e.msg === 'string') {
      const details = typeof e.details === 'string' ? e.details : undefined;
      return new CniError(e.code, `${type}: ${e.msg}`, details ? { details } : {});
    }
  } catch {
    // fall through
  }
  return new CniError(
    ErrorCode.Internal,
    `IPAM plugin "${type}" failed on ${command} without a CNI error: ${stdout.slice(0, 200)}`,
  );
}
