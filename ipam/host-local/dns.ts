// ipam.resolvConf: a resolv.conf-style file turned into the result's dns, read as the reference reads it.

import { configError } from '../../lib/cni/errors.js';
import type { Dns } from '../../lib/cni/result.js';
import { readRegularFile } from '../../lib/sys/files.js';

export function parseResolvConf(text: string): Dns {
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  let domain: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [key, ...values] = line.split(/\s+/);
    if (values.length === 0) continue;
    if (key === 'nameserver') nameservers.push(values[0]!);
    else if (key === 'domain') domain = values[0];
    else if (key === 'search') search.push(...values);
    else if (key === 'options') options.push(...values);
  }
  const dns: Dns = {};
  if (nameservers.length) dns.nameservers = nameservers;
  if (domain) dns.domain = domain;
  if (search.length) dns.search = search;
  if (options.length) dns.options = options;
  return dns;
}

export function readResolvConf(path: string): Dns {
  try {
    return parseResolvConf(readRegularFile(path, 64 << 10));
  } catch (err) {
    throw configError(`ipam.resolvConf "${path}" cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
}
