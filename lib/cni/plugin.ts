// What a plugin is to the protocol edge: verbs that take a Request and return values or throw CniError.
import type { Attachment, NetConf } from './config.js';
import type { Env, Invocation } from './env.js';
import type { Logger } from './log.js';
import type { Result } from './result.js';

/** The IPAM plugin named by `ipam.type`, called as the spec's delegation describes. */
export interface IpamDelegate {
  readonly type: string;
  add(): Promise<Result>;
  /** Total: a missing IPAM binary is logged, not thrown, so DEL can finish. */
  del(): Promise<void>;
  check(): Promise<void>;
  gc(): Promise<void>;
  status(): Promise<void>;
}

export interface Request extends Invocation {
  conf: NetConf;
  /** CNI_ARGS as key/value pairs (already checked against the plugin's known keys). */
  cniArgs: Record<string, string>;
  /** For GC: the attachments to keep. Empty for the other verbs. */
  attachments: Attachment[];
  /** Present when the config has an `ipam` section. */
  ipam: IpamDelegate | undefined;
  log: Logger;
  env: Env;
}

export interface Plugin {
  /** CNI_ARGS keys this plugin reads; others need IgnoreUnknown=1. */
  readonly knownArgs?: readonly string[];
  add(req: Request): Promise<Result>;
  del(req: Request): Promise<void>;
  check(req: Request): Promise<void>;
  gc(req: Request): Promise<void>;
  status(req: Request): Promise<void>;
}

export type PluginLoader = (name: string) => Promise<Plugin | undefined>;
