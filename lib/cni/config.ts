// Decoding stdin into the parts of a network config that the protocol itself defines.
// Plugin-specific keys stay in `raw` for the plugin's own loader.

import { type Command, validateNetworkName } from './env.js';
import { CniError, configError, ErrorCode } from './errors.js';
import { parseResult, type Result } from './result.js';
import { atLeast, isSpecVersion, SPEC_VERSIONS, type SpecVersion } from './versions.js';

export type Json = Record<string, unknown>;

export interface NetConf {
  cniVersion: SpecVersion;
  name: string;
  type: string;
  /** The whole decoded object, plugin keys included. */
  raw: Json;
  /** The exact bytes received, passed unchanged to delegated plugins. */
  stdin: string;
  prevResult: Result | undefined;
  runtimeConfig: Json;
  /** `args.cni` of the config. */
  argsCni: Json;
  ipamType: string | undefined;
  logFile: string | undefined;
  logLevel: LogLevel;
  /** What a lenient parse dropped, to be logged once a logger exists. */
  warnings: string[];
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the cniVersion first so every later error can be reported in the caller's version. */
export function decodeStdin(stdin: string): Json {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    const why = stdin.trim() === '' ? 'stdin is empty' : (err as Error).message;
    throw new CniError(ErrorCode.DecodingFailure, `network config on stdin is not valid JSON: ${why}`);
  }
  if (!isObject(raw))
    throw new CniError(ErrorCode.DecodingFailure, 'network config on stdin must be a JSON object');
  return raw;
}

/** A missing cniVersion means 0.1.0, as in the reference implementation. */
export function parseVersion(raw: Json): SpecVersion {
  const v = raw.cniVersion ?? '0.1.0';
  if (!isSpecVersion(v)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `cniVersion ${JSON.stringify(v)} is not supported; supported versions: ${SPEC_VERSIONS.join(', ')}`,
    );
  }
  return v;
}

/** CHECK arrived in 0.4.0, GC and STATUS in 1.1.0; older configs cannot ask for them. */
export function requireVerbSupport(command: Command, version: SpecVersion): void {
  const min = command === 'CHECK' ? '0.4.0' : command === 'GC' || command === 'STATUS' ? '1.1.0' : undefined;
  if (min && !atLeast(version, min)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `${command} needs cniVersion ${min} or later; the config says ${version}`,
    );
  }
}

/**
 * The protocol's part of the config. With `lenient` (DEL: teardown must always finish) a malformed
 * prevResult or logFile is not an error: it is dropped and said in `warnings`.
 */
export function parseNetConf(raw: Json, version: SpecVersion, stdin: string, lenient = false): NetConf {
  const warnings: string[] = [];
  const tolerate = <T>(parse: () => T): T | undefined => {
    if (!lenient) return parse();
    try {
      return parse();
    } catch (err) {
      warnings.push(`ignored: ${(err as Error).message}`);
      return undefined;
    }
  };
  const name = raw.name;
  if (typeof name !== 'string' || name === '')
    throw configError('name is missing: every network config needs a "name"');
  validateNetworkName(name);
  const type = raw.type;
  if (typeof type !== 'string' || type === '')
    throw configError('type is missing: every plugin config needs a "type"');
  return {
    cniVersion: version,
    name,
    type,
    raw,
    stdin,
    prevResult:
      raw.prevResult === undefined
        ? undefined
        : tolerate(() => parseResult(raw.prevResult, version, 'prevResult')),
    runtimeConfig: optObject(raw.runtimeConfig, 'runtimeConfig'),
    argsCni: optObject(optObject(raw.args, 'args').cni, 'args.cni'),
    ipamType: ipamType(raw.ipam),
    logFile: tolerate(() => logFile(raw.logFile)),
    logLevel: tolerate(() => logLevel(raw.logLevel)) ?? 'info',
    warnings,
  };
}

function ipamType(ipam: unknown): string | undefined {
  if (ipam === undefined) return undefined;
  if (!isObject(ipam)) throw configError('ipam must be an object like {"type": "host-local", ...}');
  if (typeof ipam.type !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(ipam.type)) {
    throw configError('ipam.type must name an IPAM plugin, e.g. "host-local"');
  }
  return ipam.type;
}

function optObject(v: unknown, where: string): Json {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw configError(`${where} must be an object`);
  return v;
}

function optString(v: unknown, where: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw configError(`${where} must be a string`);
  return v;
}

/** A relative path would land wherever the runtime happens to run the plugin. */
function logFile(v: unknown): string | undefined {
  const path = optString(v, 'logFile');
  if (path !== undefined && !path.startsWith('/'))
    throw configError(
      `logFile ${JSON.stringify(path)} must be an absolute path, e.g. "/var/log/cni-suite.log"`,
    );
  return path;
}

function logLevel(v: unknown): LogLevel {
  if (v === undefined) return 'info';
  if (!(LOG_LEVELS as readonly unknown[]).includes(v))
    throw configError(`logLevel must be one of ${LOG_LEVELS.join(', ')}`);
  return v as LogLevel;
}

/** GC's list of attachments to keep; spec 1.1.0 names it cni.dev/valid-attachments, libcni also sent cni.dev/attachments. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

export function validAttachments(raw: Json): Attachment[] {
  const key =
    raw['cni.dev/valid-attachments'] !== undefined ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
  const list = raw[key];
  // A missing list must not read as "nothing is valid": that would tear down every attachment.
  if (list === undefined || list === null)
    throw configError('GC needs "cni.dev/valid-attachments" (the attachments to keep)');
  if (!Array.isArray(list)) throw configError(`${key} must be a list of {containerID, ifname}`);
  return list.map((a, i) => {
    if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') {
      throw configError(`${key}[${i}] must be an object with string containerID and ifname`);
    }
    return { containerID: a.containerID, ifname: a.ifname };
  });
}
