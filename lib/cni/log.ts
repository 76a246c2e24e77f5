// Logging: stdout belongs to the protocol, so warnings and errors go to stderr, and every entry
// at or above the configured level goes, as one JSON line, to the optional log file.
import { appendRegularFile } from '../sys/files.js';
import { LOG_LEVELS, type LogLevel } from './config.js';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LogContext {
  plugin: string;
  command: string;
  containerId?: string;
  file?: string | undefined;
  level?: LogLevel;
}

const rank = (l: LogLevel) => LOG_LEVELS.indexOf(l);

export function createLogger(ctx: LogContext): Logger {
  const fileLevel = rank(ctx.level ?? 'info');
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (rank(level) >= rank('warn')) process.stderr.write(`${ctx.plugin} ${ctx.command}: ${level}: ${msg}\n`);
    if (!ctx.file || rank(level) < fileLevel) return;
    const entry = {
      time: new Date().toISOString(),
      level,
      plugin: ctx.plugin,
      command: ctx.command,
      containerId: ctx.containerId,
      msg,
      ...fields,
    };
    try {
      appendRegularFile(ctx.file, `${JSON.stringify(entry)}\n`);
    } catch {
      // A broken log file must never fail the verb; say so once on stderr.
      process.stderr.write(`${ctx.plugin}: cannot write log file ${ctx.file}\n`);
      ctx.file = undefined;
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
