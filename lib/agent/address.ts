// A listening address as an operator writes it.

/** "host:port" or "[v6]:port" → its parts; undefined when it is not one. */
export function parseAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65_535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}
