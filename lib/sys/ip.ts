// iproute2: JSON reads (`ip -j`), batched writes (`ip -batch -`), optionally inside a netns given by
// path; `bridge` (FDB entries) the same way with `tool: 'bridge'`.
import { hasOwnLink, inNetns } from './netns.js';
import { CommandError, run } from './run.js';
import { withSysctlsIn, writeSysctlsIn } from './sysctl.js';

export interface IpOptions {
  /** Path of the netns to run in; the current one when undefined. */
  netns?: string | undefined;
  /** `-d`: link details (kind, port and bridge attributes). */
  details?: boolean;
  /** `bridge` instead of `ip` (same batch and JSON syntax). */
  tool?: 'ip' | 'bridge';
  /** sysctls written in the netns first: by the addon (writeSysctlsIn), else in ip's process start (withSysctlsIn). */
  sysctls?: readonly (readonly [string, string])[];
}

/**
 * argv running `ip args` in the netns at `path`. A netns under /run/netns (how runtimes name them)
 * is entered by ip itself (`ip -n`), saving the extra exec of nsenter.
 */
function ipArgv(
  path: string | undefined,
  args: readonly string[],
  tool = 'ip',
  sysctls: IpOptions['sysctls'] = [],
): [string, string[]] {
  if (sysctls.length) return withSysctlsIn(path, sysctls, tool, args);
  const named = path ? /^(?:\/var)?\/run\/netns\/([^/]+)$/.exec(path) : null;
  return named ? [tool, ['-n', named[1]!, ...args]] : inNetns(path, tool, args);
}

/** `ip -j <args>` parsed; an empty answer is []. */
export async function ipJson<T>(args: readonly string[], opts: IpOptions = {}): Promise<T> {
  const [file, argv] = ipArgv(opts.netns, ['-j', ...args], opts.tool);
  const out = (await run(file, argv)).stdout.trim();
  return (out ? JSON.parse(out) : []) as T;
}

/** `ip -j <args>` that answers [] instead of failing when the device does not exist. */
export async function ipJsonIfExists<T>(args: readonly string[], opts: IpOptions = {}): Promise<T[]> {
  try {
    return await ipJson<T[]>(args, opts);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** Runs several `ip` commands in one process; stops at the first failure and throws it. */
export async function ipBatch(commands: readonly (readonly string[])[], opts: IpOptions = {}): Promise<void> {
  if (commands.length || opts.sysctls?.length) await runBatch(commands, opts, []);
}

/**
 * Several `ip` commands in one process, reads and writes mixed: one parsed answer per read, in
 * order (writes print nothing). Stops at the first failure and throws it.
 */
export async function ipJsonBatch<T>(
  commands: readonly (readonly string[])[],
  opts: IpOptions = {},
): Promise<T[][]> {
  if (!commands.length) return [];
  // Each read prints its JSON array on a line of its own.
  return (await runBatch(commands, opts, opts.details ? ['-j', '-d'] : ['-j']))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T[]);
}

async function runBatch(
  commands: readonly (readonly string[])[],
  opts: IpOptions,
  flags: string[],
): Promise<string> {
  // The addon writes the sysctls first, then `ip` runs alone; else a shell before it does.
  const sysctls =
    opts.sysctls?.length && opts.netns && writeSysctlsIn(opts.netns, opts.sysctls) ? [] : opts.sysctls;
  const [file, argv] = ipArgv(opts.netns, [...flags, '-batch', '-'], opts.tool, sysctls);
  try {
    return (await run(file, argv, { input: commands.map(batchLine).join('\n') })).stdout;
  } catch (err) {
    throw err instanceof CommandError ? new BatchError(err, commands, opts.netns, opts.tool) : err;
  }
}

/** A failed batch names the command that failed ("Command failed -:N" is all iproute2 says). */
export class BatchError extends CommandError {
  /** Index of the failed command (the ones before it took effect, the ones after never ran), if known. */
  readonly failedAt: number | undefined;

  constructor(
    cause: CommandError,
    commands: readonly (readonly string[])[],
    netns: string | undefined,
    tool = 'ip',
  ) {
    super(cause.argv, cause.result);
    const line = Number(/Command failed -:(\d+)/.exec(cause.result.stderr)?.[1] ?? 0);
    this.failedAt = line > 0 ? line - 1 : undefined;
    const cmd = commands[line - 1];
    const why = cause.result.stderr.split('\n')[0]?.replace(/^RTNETLINK answers: /, '') ?? '';
    this.message = `${tool} ${cmd ? cmd.join(' ') : 'batch'}${netns ? ` (in ${netns})` : ''}: ${why}`;
  }
}

/** One `ip` command. */
export async function ip(args: readonly string[], opts: IpOptions = {}): Promise<void> {
  const [file, argv] = ipArgv(opts.netns, args);
  await run(file, argv);
}

/**
 * Deletes a link; one already gone (or in a netns already gone) is success. True if it was there.
 * In this netns, a link /proc does not list costs no `ip` run (a second DEL; a pod link's name in
 * the host, there only when an ADD was killed before the move).
 */
export async function ipLinkDelete(name: string, opts: IpOptions = {}): Promise<boolean> {
  if (!opts.netns && hasOwnLink(name) === false) return false;
  try {
    await ip(['link', 'del', 'dev', name], opts);
    return true;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return false;
  }
}

/**
 * One `ip -batch` line. iproute2 splits it on whitespace, starts a comment at "#" and reads quotes
 * and backslashes as syntax, so an argument holding any of them (or an empty one) cannot be carried
 * exactly: it is refused here rather than silently cut or reinterpreted. lib/cni/env.ts refuses them
 * in CNI_* values already; this guards every other source of an argument.
 */
export function batchLine(cmd: readonly string[]): string {
  for (const a of cmd) {
    if (a === '' || /[\s#'"\\]/.test(a)) {
      throw new Error(
        `ip batch argument ${JSON.stringify(a)} (in "${cmd.join(' ')}") is empty or contains whitespace, "#", a quote or a backslash, which ip -batch cannot carry`,
      );
    }
  }
  return cmd.join(' ');
}

const said = (err: unknown) => (err instanceof CommandError ? err.result.stderr : '');

/** The object (device, address, route), or the netns holding it, is not there. */
export const isNotFound = (err: unknown) =>
  /Cannot find device|does not exist|No such device|No such process|Cannot assign requested address|not found|Cannot open network namespace|No such file or directory/i.test(
    said(err),
  );

/** The object is there already. */
export const isExists = (err: unknown) => /File exists/i.test(said(err));
