// portmap's config: `snat` and the runtime's `runtimeConfig.portMappings`; pure.
import validate from '../../gen/portmap.validate.js';
import { type Family, formatIp, ipFamily, isIp, parseIp } from '../../lib/base/ip.js';
import type { NetConf } from '../../lib/cni/config.js';
import { configError } from '../../lib/cni/errors.js';
import { checkSchema } from '../../lib/cni/validate.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  /** undefined: any address of the host ("", 0.0.0.0 and :: mean the same for their family). */
  hostIP: string | undefined;
  /** The families it applies to: the hostIP's, or both. */
  families: readonly Family[];
  /** Where it came from, for messages: "runtimeConfig.portMappings[2]". */
  where: string;
}

export interface PortmapConfig {
  network: string;
  snat: boolean;
  mappings: PortMapping[];
}

export function loadConfig(conf: NetConf): PortmapConfig {
  const raw = withMappingKeys(conf.raw);
  checkSchema(validate, raw);
  const list = ((raw.runtimeConfig as Record<string, unknown> | undefined)?.portMappings ?? []) as Record<
    string,
    unknown
  >[];
  const mappings = list.map((m, i) => mapping(m, `runtimeConfig.portMappings[${i}]`));
  refuseDuplicates(mappings);
  return { network: conf.name, snat: (conf.raw.snat as boolean | undefined) ?? true, mappings };
}

const MAPPING_KEYS = ['hostPort', 'containerPort', 'protocol', 'hostIP'];

/**
 * The config with each mapping's keys spelled as documented. containerd 1.6 sends Go field names
 * (`{"HostPort": 8080, "ContainerPort": 80, "Protocol": "tcp", "HostIP": ""}`), which the reference
 * reads because Go's JSON decoding ignores case; so does this.
 */
function withMappingKeys(raw: Record<string, unknown>): Record<string, unknown> {
  const rc = raw.runtimeConfig as Record<string, unknown> | undefined;
  if (!rc || !Array.isArray(rc.portMappings)) return raw;
  const spell = (k: string) => MAPPING_KEYS.find((known) => known.toLowerCase() === k.toLowerCase()) ?? k;
  const portMappings = rc.portMappings.map((m) =>
    m && typeof m === 'object' && !Array.isArray(m)
      ? Object.fromEntries(Object.entries(m as Record<string, unknown>).map(([k, v]) => [spell(k), v]))
      : m,
  );
  return { ...raw, runtimeConfig: { ...rc, portMappings } };
}

function mapping(m: Record<string, unknown>, where: string): PortMapping {
  const rawIp = (m.hostIP as string | undefined) ?? '';
  if (rawIp !== '' && !isIp(rawIp))
    throw configError(
      `${where}.hostIP "${rawIp}" is not an IP address (e.g. "192.0.2.10", or leave it out for any)`,
    );
  // As nft prints it, so a mapping compares equal to what is read back.
  const hostIP = rawIp === '' ? '' : formatIp(parseIp(rawIp)!);
  const any = hostIP === '' || hostIP === '0.0.0.0' || hostIP === '::';
  return {
    hostPort: m.hostPort as number,
    containerPort: m.containerPort as number,
    protocol: ((m.protocol as string | undefined) || 'tcp').toLowerCase() as Protocol,
    hostIP: any ? undefined : hostIP,
    families: hostIP === '' ? [4, 6] : [ipFamily(hostIP)],
    where,
  };
}

/** Two entries of one pod for the same protocol, port and (overlapping) host address. */
function refuseDuplicates(mappings: readonly PortMapping[]): void {
  mappings.forEach((a, i) => {
    const b = mappings.slice(0, i).find((b) => overlaps(a, b));
    if (b)
      throw configError(
        `${a.where} asks for host port ${a.protocol}/${a.hostPort} again (${b.where} has it already)`,
      );
  });
}

/** Whether two mappings would receive the same packets. */
export function overlaps(
  a: Pick<PortMapping, 'protocol' | 'hostPort' | 'hostIP' | 'families'>,
  b: Pick<PortMapping, 'protocol' | 'hostPort' | 'hostIP' | 'families'>,
): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  if (!a.families.some((f) => b.families.includes(f))) return false;
  return a.hostIP === undefined || b.hostIP === undefined || a.hostIP === b.hostIP;
}
