// `cni-suite agent [run|init|leave]`, imported by lib/main.ts only for the word "agent", so a plugin
// call never loads the etcd client. Resolves to the exit status: 0, 1 on failure, 2 on bad usage.
import { readFileSync, rmSync, writeSync } from 'node:fs';
import { usage } from '../cli/usage.js';
import { ExhaustedError, readRemembered, stateFile } from './claim.js';
import { runDaemon } from './daemon.js';
import { agentLogger } from './log.js';
import { NetworkError, parseClusterNetwork, subnetKey } from './network.js';
import { AgentConfigError, agentOptions, parseFlags } from './options.js';
import { connect, contactError, initNetwork, listClaims, release } from './store.js';

const INIT_FLAGS = {
  'network-config': { type: 'string' },
  'cluster-cidr': { type: 'string' },
  'subnet-len': { type: 'string' },
  plugin: { type: 'string' },
  'plugin-options': { type: 'string' },
  'no-portmap': { type: 'boolean' },
  force: { type: 'boolean' },
} as const;

const out = (line: string) => writeSync(1, `${line}\n`);

export async function runAgent(args: string[]): Promise<number> {
  if (args.some((a) => a === '--help' || a === '-h')) {
    writeSync(1, usage());
    return 0;
  }
  const [word, ...rest] = args[0] && !args[0].startsWith('-') ? args : ['run', ...args];
  try {
    switch (word) {
      case 'run':
        return await runDaemon(agentOptions(parseFlags(rest)));
      case 'init':
        return await init(rest);
      case 'leave':
        return await leave(rest);
      default:
        throw new AgentConfigError(`unknown agent command "${word}" (run, init or leave)`);
    }
  } catch (err) {
    const known =
      err instanceof AgentConfigError || err instanceof NetworkError || err instanceof ExhaustedError;
    if (word === 'run') agentLogger({}).error((err as Error).message);
    else writeSync(2, `cni-suite agent ${word}: error: ${(err as Error).message}\n`);
    if (!known && word === 'run') writeSync(2, `${(err as Error).stack}\n`);
    return 1;
  }
}

/** Writes the cluster's network config once (from --network-config or the flags). */
async function init(args: string[]): Promise<number> {
  const flags = parseFlags(args, INIT_FLAGS);
  const o = agentOptions(flags);
  const net = parseClusterNetwork(networkFromFlags(flags), 'network config');
  const client = connect(o.etcd);
  try {
    const outcome = await initNetwork(client, o.prefix, net, flags.force === true).catch((err) => {
      throw contactError(err, o.etcd);
    });
    out(`network config at ${o.prefix}/config: ${outcome}`);
    return 0;
  } finally {
    client.close();
  }
}

function networkFromFlags(flags: Record<string, string | boolean | undefined>): unknown {
  const file = flags['network-config'];
  if (typeof file === 'string') {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new NetworkError(`--network-config "${file}" cannot be read as JSON: ${(err as Error).message}`);
    }
  }
  let options: unknown = {};
  if (typeof flags['plugin-options'] === 'string') {
    try {
      options = JSON.parse(flags['plugin-options']);
    } catch {
      throw new NetworkError('--plugin-options must be a JSON object, e.g. \'{"vni": 1}\'');
    }
  }
  const len = flags['subnet-len'];
  return {
    clusterCIDR: flags['cluster-cidr'],
    ...(len === undefined ? {} : { subnetLen: /^\d+$/.test(String(len)) ? Number(len) : len }),
    plugin: { ...(options as object), type: flags.plugin ?? 'bridge-route' },
    ...(flags['no-portmap'] ? { portmap: false } : {}),
  };
}

/**
 * Gives this host's subnet back at once (its lease would keep it for its TTL) and removes the
 * conflist, so no new pod gets an address from it. A running agent sees its claim go and exits.
 */
async function leave(args: string[]): Promise<number> {
  const o = agentOptions(parseFlags(args));
  const client = connect(o.etcd);
  try {
    const remembered = readRemembered(stateFile(o.dataDir, o.network));
    const listing = await listClaims(client, o.prefix).catch((err) => {
      throw contactError(err, o.etcd);
    });
    const keys = [...listing.claims.values()].filter((c) => c.record?.name === o.nodeName).map((c) => c.key);
    if (remembered) keys.push(subnetKey(o.prefix, remembered));
    rmSync(stateFile(o.dataDir, o.network), { force: true });
    const released = [];
    for (const key of new Set(keys)) if (await release(client, key, o.nodeName)) released.push(key);
    rmSync(o.conflist, { force: true });
    out(released.length ? `released ${released.join(', ')}` : `${o.nodeName} holds no subnet in ${o.prefix}`);
    return 0;
  } finally {
    client.close();
  }
}
