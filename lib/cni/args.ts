// Per-attachment arguments from the three places a runtime may put them, and their precedence:
// CNI_ARGS (oldest) < args.cni in the config < runtimeConfig (capabilities, newest).
import { CniError, ErrorCode } from './errors.js';

/** Keys every runtime sends with IgnoreUnknown; accepted by all plugins so they never fail on them. */
const ALWAYS_KNOWN = [
  'IgnoreUnknown',
  'K8S_POD_NAMESPACE',
  'K8S_POD_NAME',
  'K8S_POD_INFRA_CONTAINER_ID',
  'K8S_POD_UID',
];

/** Parses CNI_ARGS "K=V;K2=V2"; unknown keys are an error unless IgnoreUnknown is true. */
export function parseCniArgs(raw: string, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(ErrorCode.InvalidEnvironment, `CNI_ARGS: "${pair}" is not of the form KEY=VALUE`);
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const ignoreUnknown = /^(1|t|true)$/i.test(out.IgnoreUnknown ?? '');
  const unknown = Object.keys(out).filter((k) => !known.includes(k) && !ALWAYS_KNOWN.includes(k));
  if (unknown.length && !ignoreUnknown) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `CNI_ARGS: unknown keys ${unknown.join(', ')} (known: ${known.join(', ') || 'none'}); add IgnoreUnknown=1 to ignore them`,
    );
  }
  return out;
}

/** The value with the highest precedence among the sources that have one. */
export function pickArg<T>(sources: {
  cniArgs?: T | undefined;
  argsCni?: T | undefined;
  runtimeConfig?: T | undefined;
}): T | undefined {
  return sources.runtimeConfig ?? sources.argsCni ?? sources.cniArgs;
}
