// The protocol edge (like the reference's skel): env + stdin in, exactly one JSON document out.
// `execute` is pure of process state so that delegation can run a plugin in-process;
// `main` is the only function that reads process.env/stdin and writes stdout.
import { readFileSync, writeSync } from 'node:fs';
import { isOwnNetns, netnsProblem } from '../sys/netns.js';
import { parseCniArgs } from './args.js';
import {
  decodeStdin,
  type NetConf,
  parseNetConf,
  parseVersion,
  requireVerbSupport,
  validAttachments,
} from './config.js';
import { createIpamDelegate, type Outcome } from './delegate.js';
import { COMMANDS, type Command, type Env, type Invocation, parseCommand, parseInvocation } from './env.js';
import { asCniError, CniError, ErrorCode, PluginCode } from './errors.js';
import { createLogger } from './log.js';
import type { Plugin, PluginLoader, Request } from './plugin.js';
import { resultToVersion } from './result.js';
import { CURRENT_VERSION, SPEC_VERSIONS, type SpecVersion } from './versions.js';

export const versionInfo = () => ({ cniVersion: CURRENT_VERSION, supportedVersions: [...SPEC_VERSIONS] });

/** An Outcome that also says, on failure, whether the request's logger already put it on stderr. */
export interface RunOutcome extends Outcome {
  error?: { msg: string; logged: boolean };
}

/** Runs one plugin call and returns what belongs on stdout; never throws. */
export async function execute(
  pluginName: string,
  env: Env,
  stdin: string,
  load: PluginLoader,
): Promise<RunOutcome> {
  let version: SpecVersion = CURRENT_VERSION;
  try {
    const command = parseCommand(env);
    if (command === 'VERSION') return ok(versionInfo());
    const parsed = parseInvocation(command, env);
    const raw = decodeStdin(stdin);
    version = parseVersion(raw);
    requireVerbSupport(command, version);
    const conf = parseNetConf(raw, version, stdin, command === 'DEL');
    const inv = checkNetns(parsed);
    const plugin = await load(pluginName);
    if (!plugin)
      throw new CniError(
        PluginCode.NotImplemented,
        `plugin "${pluginName}" is not implemented yet in this build`,
      );
    const req = buildRequest(pluginName, inv, conf, plugin, env, load);
    return await dispatch(command, plugin, req, version);
  } catch (err) {
    // Failed before a request (and its logger) existed: nothing is on stderr yet.
    return failed(asCniError(err), version, false);
  }
}

async function dispatch(
  command: Exclude<Command, 'VERSION'>,
  plugin: Plugin,
  req: Request,
  version: SpecVersion,
): Promise<RunOutcome> {
  req.log.debug('start', { netns: req.netns, ifname: req.ifname });
  for (const w of req.conf.warnings) req.log.warn(w);
  if (req.ignoredPath.length)
    req.log.warn(`CNI_PATH: relative entries ignored: ${req.ignoredPath.join(':')}`);

  try {
    switch (command) {
      case 'ADD':
        return ok(resultToVersion(await plugin.add(req), version));
      case 'DEL':
        await plugin.del(req);
        return ok();
      case 'CHECK':
        await plugin.check(req);
        return ok();
      case 'GC':
        await plugin.gc(req);
        return ok();
      case 'STATUS':
        await plugin.status(req);
        return ok();
    }
  } catch (err) {
    const e = asCniError(err);
    req.log.error(e.message, { code: e.code, cause: e.cause instanceof Error ? e.cause.message : undefined });
    return failed(e, version, true);
  }
}

function buildRequest(
  name: string,
  inv: Invocation,
  conf: NetConf,
  plugin: Plugin,
  env: Env,
  load: PluginLoader,
): Request {
  const log = createLogger({
    plugin: name,
    command: inv.command,
    containerId: inv.containerId,
    file: conf.logFile,
    level: conf.logLevel,
  });
  const ipam = conf.ipamType
    ? createIpamDelegate({
        type: conf.ipamType,
        env,
        path: inv.path,
        stdin: conf.stdin,
        cniVersion: conf.cniVersion,
        log,
        runInProcess: (type, e, s) => execute(type, e, s, load),
      })
    : undefined;
  return {
    ...inv,
    conf,
    cniArgs: parseCniArgs(inv.args, plugin.knownArgs ?? []),
    attachments: inv.command === 'GC' ? validAttachments(conf.raw) : [],
    ipam,
    log,
    env,
  };
}

/**
 * ADD and CHECK need an existing netns; for any other verb a path that is no namespace (gone, or a
 * FIFO that would block whoever opens it) counts as no netns. No verb may act on the plugin's own.
 */
function checkNetns(inv: Invocation): Invocation {
  if (!inv.netns) return inv;
  const problem = netnsProblem(inv.netns);
  if (problem && inv.command !== 'ADD' && inv.command !== 'CHECK') return { ...inv, netns: '' };
  if (problem) throw new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS "${inv.netns}" ${problem}`);
  if (isOwnNetns(inv.netns)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `CNI_NETNS "${inv.netns}" is the plugin's own network namespace`,
    );
  }
  return inv;
}

const ok = (doc?: object): Outcome => ({ stdout: doc ? JSON.stringify(doc) : '', code: 0 });

const failed = (e: CniError, version: SpecVersion, logged: boolean): RunOutcome => ({
  stdout: JSON.stringify(e.toJSON(version)),
  code: 1,
  error: { msg: e.message, logged },
});

/** The process edge: read env and stdin, execute, print one document, exit. */
export async function main(pluginName: string, load: PluginLoader): Promise<never> {
  const env = process.env;
  // process.stdin loads tty and net (≈ 10-20 ms): only looked at when no runtime is calling.
  if (!env.CNI_COMMAND && process.stdin.isTTY) printHandUsage(pluginName);
  // Without CNI_COMMAND the call fails before stdin is needed; VERSION ignores stdin (the reference
  // does too). Neither reads it, so a terminal on stdin cannot hang them.
  const stdin = !env.CNI_COMMAND || env.CNI_COMMAND === 'VERSION' ? '' : readStdin();
  const outcome = await execute(pluginName, env, stdin, load);
  if (outcome.stdout) writeSync(1, `${outcome.stdout}\n`);
  // The README promises every error on stderr too; dispatch's logger printed the ones it caught.
  if (outcome.error && !outcome.error.logged)
    writeSync(2, `${errorLine(pluginName, env, outcome.error.msg)}\n`);
  process.exit(outcome.code);
}

/** `<plugin> <CNI_COMMAND>: error: <msg>`, as the logger writes it; a command we do not know is left out. */
function errorLine(pluginName: string, env: Env, msg: string): string {
  const command = (COMMANDS as readonly string[]).includes(env.CNI_COMMAND ?? '')
    ? ` ${env.CNI_COMMAND}`
    : '';
  return `${pluginName}${command}: error: ${msg.replace(/\s*\n\s*/g, ' ')}`;
}

/** Someone typed the plugin's name at a shell: say what it is before the protocol's error. */
function printHandUsage(pluginName: string): void {
  writeSync(
    2,
    `${pluginName} is a CNI plugin: container runtimes run it with CNI_COMMAND=ADD (or DEL, CHECK,\n` +
      'GC, STATUS), the other CNI_* variables and the network config on stdin.\n' +
      `Try: CNI_COMMAND=VERSION ${pluginName}     See: cni-suite --help\n`,
  );
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}
