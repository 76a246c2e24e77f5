// The host-I/O seam: everything the engine asks of the host, as one interface its verbs receive
// (enginePlugin's `host`). lib/host/system.ts implements it on lib/sys (iproute2 and nft processes,
// /proc, flock, files under /run); the engine's unit tests drive the verbs against a fake one. Its
// failures are structured (BatchFailure: which command, and whether its object existed or was
// missing), so the engine decides what to undo without reading any tool's error text.
export { NotInstalledError } from '../base/errors.js';

/** `ip` (or `bridge`) commands for one process, in one netns. */
export interface BatchOptions {
  /** Path of the netns to run in; the host's when undefined. */
  netns?: string | undefined;
  /** Reads show details (`-d`: link kinds, port and bridge attributes). */
  details?: boolean;
  tool?: 'ip' | 'bridge';
  /** sysctls (key, value) written in the netns before the commands run. */
  sysctls?: readonly (readonly [string, string])[];
}

/**
 * A batch stopped at command `at` (those before took effect, those after never ran; undefined:
 * unknown, any may have): its object `exists` already, is `missing` (or its netns is), or `other`.
 */
export class BatchFailure extends Error {
  constructor(
    readonly kind: 'exists' | 'missing' | 'other',
    readonly at: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BatchFailure';
  }
}

export const isExists = (err: unknown): boolean => err instanceof BatchFailure && err.kind === 'exists';
export const isMissing = (err: unknown): boolean => err instanceof BatchFailure && err.kind === 'missing';

/** Lets go of a lock; with `remove`, its file goes first (the attachment is gone for good). */
export type Release = (opts?: { remove?: boolean }) => void;

/** nft: the network's rules; podsets: whether they read the pod sets; peers: routes and entries. */
export type StampKind = 'nft' | 'podsets' | 'peers';

/** A digest of what this host last applied for a network (see lib/host/stamp.ts). */
export interface Stamp {
  /** True when `content` is what was last applied (and stamped), at most `maxAgeMs` ago. */
  matches(content: string, maxAgeMs?: number): boolean;
  /** Records `content` as applied. Best effort: without a stamp the next call does the full work. */
  record(content: string): void;
  /** Drops the record: the next call does the full work. */
  forget(): void;
}

/** A fact about this host that calls may reuse for a while (the uplink), content kept. */
export interface HostNote {
  /** What was written at most `maxAgeMs` ago, else undefined. */
  read(maxAgeMs: number): string | undefined;
  /** Best effort, like a stamp's record. */
  write(content: string): void;
  forget(): void;
}

export interface Host {
  /** Runs commands in one process; one parsed JSON answer per read, in order. Throws BatchFailure. */
  batch(commands: readonly (readonly string[])[], opts?: BatchOptions): Promise<unknown[][]>;
  /** One read (`ip -j …`); [] when its device or netns is missing. */
  read(args: readonly string[], opts?: { netns?: string | undefined; details?: boolean }): Promise<unknown[]>;
  /** Deletes a link; one already gone (or in a netns already gone) is false. */
  deleteLink(name: string, netns?: string): Promise<boolean>;
  /** Whether the host's netns has a link of that name, without starting a process (undefined: cannot tell). */
  hasLink(name: string): boolean | undefined;
  readSysctl(key: string): string;
  /** Writes only when the value differs. */
  ensureSysctl(key: string, value: string): void;
  nftApply(script: string): Promise<void>;
  /** `nft -j` objects; [] when the table or nft itself is missing. */
  nftList(args: readonly string[]): Promise<Record<string, unknown>[]>;
  holdLock(name: string, timeoutMs?: number): Promise<Release>;
  /** The lock if it is free now (or within a moment), else undefined. */
  tryLock(name: string): Promise<Release | undefined>;
  stamp(network: string, kind: StampKind): Stamp;
  note(name: string): HostNote;
  /** Removes the stamps and notes of network namespaces that are gone (with `everyGone`, all of them). */
  sweepStamps(everyGone: boolean): void;
  /** A regular file's text (refusing FIFOs and devices). Throws with the errno's `code`. */
  readFile(path: string, maxBytes?: number): string;
  /** The program can be run (found on `env`'s PATH, the process's by default). */
  hasTool(name: string, env?: NodeJS.ProcessEnv): boolean;
  findExecutable(name: string, dirs: readonly string[]): string | undefined;
}
