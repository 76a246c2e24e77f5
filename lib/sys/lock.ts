// A named lock that this process's children hold too: an abstract unix socket bound to the name.
// Every child started by run() inherits the socket, so when a plugin is killed mid-call, the name
// stays taken until the last `ip`/`nft` it started has exited; whoever waits for the lock (DEL)
// then acts after them. Binding is a system call (no process start), the name is per network
// namespace (the host netns the plugin runs in), and nothing is left on disk. The addon binds it
// (addon.ts); without the addon, a node:net server does, which costs ≈ 10 ms of CPU to load and set up.
import { closeSync } from 'node:fs';
import type { Server } from 'node:net';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { CniError, ErrorCode } from '../cni/errors.js';
import { addon } from './addon.js';
import { net } from './builtins.js';
import { traceLock } from './lock-trace.js';

/** Descriptors of the locks held now; run() passes them to every child. */
const heldFds: number[] = [];
export const inheritedFds = (): readonly number[] => heldFds;

export type Release = () => void;

export async function holdLock(name: string, timeoutMs = 30_000): Promise<Release> {
  const deadline = Date.now() + timeoutMs;
  const traced = traceLock(name);
  for (;;) {
    const held = await tryLock(name);
    if (held) return traced(held);
    if (Date.now() > deadline)
      throw new CniError(
        ErrorCode.TryAgainLater,
        `${name} is still busy after ${timeoutMs / 1000} s; try again`,
      );
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The lock if it is free now, else undefined. */
export async function tryLock(name: string): Promise<Release | undefined> {
  const native = addon();
  if (!native) {
    const server = await tryBind(`\0cni-suite/${name}`);
    return server ? keepServer(server) : undefined;
  }
  const fd = native.bindName(`cni-suite/${name}`);
  if (fd === -constants.errno.EADDRINUSE) return undefined;
  if (fd < 0) throw new Error(`lock ${name}: cannot bind its socket: ${getSystemErrorName(fd)}`);
  return keep(fd, () => closeSync(fd));
}

/** Passes `fd` to children until released. */
function keep(fd: number, close: () => void): Release {
  heldFds.push(fd);
  return () => {
    const i = heldFds.indexOf(fd);
    if (i >= 0) heldFds.splice(i, 1);
    close();
  };
}

function keepServer(server: Server): Release {
  server.unref();
  // Node exposes no public accessor for a server's descriptor; its handle carries it on Unix.
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd === 'number' && fd >= 0) return keep(fd, () => server.close());
  return () => server.close();
}

function tryBind(path: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net().createServer();
    server.once('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e),
    );
    server.listen(path, () => resolve(server));
  });
}
