// Node built-ins that only some calls need, loaded at their first use. child_process (with net and
// the streams it pulls in) costs every start ≈ 8 ms of CPU on this machine, and VERSION, which
// runtimes call most often (podman: for every plugin, on every command), starts no process.
import type * as ChildProcess from 'node:child_process';
import type * as Crypto from 'node:crypto';

export const childProcess = (): typeof ChildProcess => process.getBuiltinModule('node:child_process');
export const crypto = (): typeof Crypto => process.getBuiltinModule('node:crypto');
