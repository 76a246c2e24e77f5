// Everything the agent keeps in etcd, through the etcd3 client: the network config at
// <prefix>/config and one key per claimed subnet under <prefix>/subnets/, each bound to its host's
// lease. Every write that could race another host is one transaction that checks first.
import { readFileSync } from 'node:fs';
import { ExponentialBackoff } from 'cockatiel';
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
  type IOptions,
  type Lease,
} from 'etcd3';
import {
  type ClusterNetwork,
  type NodeRecord,
  parseClusterNetwork,
  parseNodeRecord,
  subnetsPrefix,
} from './network.js';
import { AgentConfigError, type EtcdOptions } from './options.js';

export type Client = Etcd3;

/** A client for the endpoints; no call is made yet. TLS files are read now (errors name the key). */
export function connect(o: EtcdOptions): Client {
  const file = (key: string, path: string | undefined) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new AgentConfigError(`${key} "${path}" cannot be read: ${(err as NodeJS.ErrnoException).code}`);
    }
  };
  const ca = file('etcdCA', o.ca);
  const opts: IOptions = {
    hosts: o.endpoints,
    dialTimeout: o.timeoutMs,
    // Unary calls fail after the timeout (and are retried by the caller); streams live on.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + o.timeoutMs }),
    // The watch reconnects within 2 s of etcd's return (the library's default waits up to 30 s).
    // etcd3 types this as a backoff but uses it as cockatiel's factory (its own default is one).
    faultHandling: { watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) as never },
  };
  if (ca)
    opts.credentials = {
      rootCertificate: ca,
      privateKey: file('etcdKey', o.key),
      certChain: file('etcdCert', o.cert),
    };
  if (o.username && o.password) opts.auth = { username: o.username, password: o.password };
  return new Etcd3(opts);
}

const AUTH_ERRORS = [
  EtcdAuthenticationFailedError,
  EtcdUserNotFoundError,
  EtcdPermissionDeniedError,
  EtcdInvalidAuthTokenError,
];

/** A failed first call, as the setting to blame: the credentials if etcd refused them, else the endpoints. */
export function contactError(err: unknown, o: EtcdOptions): AgentConfigError {
  if (err instanceof AgentConfigError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (AUTH_ERRORS.some((E) => err instanceof E))
    return new AgentConfigError(
      `etcdUsername/etcdPassword (--etcd-username/--etcd-password): etcd refused them: ${msg}`,
    );
  const tls = o.ca ? ' (over TLS with etcdCA' + (o.cert ? ', etcdCert and etcdKey)' : ')') : '';
  return new AgentConfigError(
    `etcdEndpoints (--etcd-endpoints) ${o.endpoints.join(',')}: etcd cannot be reached${tls}: ${msg}`,
  );
}

export const configKey = (prefix: string) => `${prefix}/config`;

/** The network config in etcd, or undefined when `agent init` has not written one. */
export async function readNetwork(client: Client, prefix: string): Promise<ClusterNetwork | undefined> {
  const text = await client.get(configKey(prefix)).string();
  if (text === null) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AgentConfigError(`${configKey(prefix)} in etcd is not valid JSON`);
  }
  return parseClusterNetwork(raw, configKey(prefix));
}

export type InitOutcome = 'written' | 'unchanged' | 'replaced';

/**
 * Writes the network config if there is none. The same one again is fine; a different one is
 * refused unless `force` (every host would have to agree on it, and pods hold addresses from it).
 */
export async function initNetwork(
  client: Client,
  prefix: string,
  net: ClusterNetwork,
  force: boolean,
): Promise<InitOutcome> {
  const key = configKey(prefix);
  const text = JSON.stringify(net);
  const created = await client.if(key, 'Create', '==', 0).then(client.put(key).value(text)).commit();
  if (created.succeeded) return 'written';
  const current = await client.get(key).string();
  if (current === text) return 'unchanged';
  if (!force)
    throw new AgentConfigError(
      `${key} already holds a different network config (${current}); the hosts may be using it: pass --force to replace it`,
    );
  await client.put(key).value(text);
  return 'replaced';
}

/** A subnet key as read: its record (undefined when the value is not a valid one) and what guards it. */
export interface Claim {
  key: string;
  record: NodeRecord | undefined;
  value: string;
  /** The etcd lease it is bound to ("0": none). */
  lease: string;
}

export interface Listing {
  claims: Map<string, Claim>;
  revision: string;
}

/** Every claimed subnet, and the revision the listing saw (a watch resumes after it). */
export async function listClaims(client: Client, prefix: string): Promise<Listing> {
  const res = await client.getAll().prefix(subnetsPrefix(prefix)).exec();
  const claims = new Map<string, Claim>();
  for (const kv of res.kvs) {
    const key = kv.key.toString();
    const value = kv.value.toString();
    claims.set(key, { key, record: parseNodeRecord(value), value, lease: String(kv.lease) });
  }
  return { claims, revision: String(res.header.revision) };
}

/** Creates the key bound to the lease if nobody holds it; false when someone does. */
export async function claimFree(
  client: Client,
  key: string,
  record: NodeRecord,
  lease: Lease,
): Promise<boolean> {
  const id = await lease.grant();
  const put = client.put(key).value(JSON.stringify(record)).lease(id);
  return (await client.if(key, 'Create', '==', 0).then(put).commit()).succeeded;
}

/** Rebinds a key we already hold (value as read) to this lease, with our current record. */
export async function claimOwn(
  client: Client,
  claim: Claim,
  record: NodeRecord,
  lease: Lease,
): Promise<boolean> {
  const id = await lease.grant();
  const put = client.put(claim.key).value(JSON.stringify(record)).lease(id);
  return (await client.if(claim.key, 'Value', '==', claim.value).then(put).commit()).succeeded;
}

/** Deletes the key if its record is still `name`'s; false when it is not (or is gone). */
export async function release(client: Client, key: string, name: string): Promise<boolean> {
  const value = await client.get(key).string();
  if (value === null || parseNodeRecord(value)?.name !== name) return false;
  return (await client.if(key, 'Value', '==', value).then(client.delete().key(key)).commit()).succeeded;
}
