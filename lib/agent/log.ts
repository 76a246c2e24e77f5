// The agent's log: one JSON object per line on stderr ({time, level, msg, …fields}), for journald
// and log shippers. It is also the Logger the engine writes to during a reconcile.
import { writeSync } from 'node:fs';
import type { Logger } from '../cni/log.js';

export function agentLogger(base: Record<string, unknown>): Logger {
  const write = (level: string, msg: string, fields?: Record<string, unknown>) =>
    writeSync(2, `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields })}\n`);
  return {
    debug: () => {},
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}
