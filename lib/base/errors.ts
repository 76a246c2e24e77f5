// What went wrong on the host, as types (no I/O here): lib/sys says what happened (a child timed out, a lock stayed
// busy, a tool is missing, a command failed); the protocol edge (lib/cni/errors.ts asCniError)
// decides which CNI code that is, so the agent and the CLI use lib/sys without the protocol.

/** A child ran past its time limit and was killed. Transient: the runtime may retry (CNI 11). */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** A lock stayed held by another call past the wait. Transient (CNI 11). */
export class BusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusyError';
  }
}

/** The program is not installed (not on PATH). */
export class NotInstalledError extends Error {
  constructor(readonly file: string) {
    super(`${file}: not found; install it (see README "Requirements")`);
    this.name = 'NotInstalledError';
  }
}
