// ADD under the lock: one address from each range set, requested or next in round-robin order,
// all or nothing.

import { formatIp } from '../../lib/base/ip.js';
import { CniError, PluginCode } from '../../lib/cni/errors.js';
import type { IpConfig } from '../../lib/cni/result.js';
import { indexKey } from './attachments.js';
import type { HostLocalConfig } from './config.js';
import { type Attachment, leaseIp } from './leases.js';
import { candidates, ipOf, type Range, type RangeSet, rangeFor, setText } from './range.js';
import { leasesOf, type Store } from './store.js';

export function allocate(s: Store, cfg: HostLocalConfig, a: Attachment): IpConfig[] {
  const held = leasesOf(s, a).ips;
  const inUse = held.filter((ip) => cfg.sets.some((set) => rangeFor(set, leaseIp(ip)!)));
  if (inUse.length) {
    throw new CniError(
      PluginCode.AddressInUse,
      `container ${a.containerId} interface ${a.ifname} already holds ${inUse.join(', ')} in network ${cfg.network}; DEL it before adding it again`,
    );
  }
  // From here until seal() the index may not cover every lease; a kill leaves no stamp behind.
  s.index.invalidate();
  const taken: string[] = [];
  const out: IpConfig[] = [];
  try {
    cfg.sets.forEach((set, n) => {
      const { ip, range } = reserveIn(s, cfg, n, set, a);
      taken.push(ip);
      out.push({ address: `${ip}/${range.prefix}`, gateway: formatIp(ipOf(range, range.gateway)) });
    });
  } catch (err) {
    for (const ip of taken) s.leases.release(ip);
    s.index.seal();
    throw err;
  }
  const key = indexKey(a);
  if (key) s.index.set(key, [...held, ...taken]);
  s.index.seal();
  return out;
}

function reserveIn(
  s: Store,
  cfg: HostLocalConfig,
  n: number,
  set: RangeSet,
  a: Attachment,
): { ip: string; range: Range } {
  const requested = cfg.requested.get(n);
  if (requested) {
    const ip = formatIp(requested);
    if (!s.leases.reserve(ip, a)) {
      const owner = s.leases.read(ip);
      throw new CniError(
        PluginCode.AddressInUse,
        `requested address ${ip} is already leased to container ${owner?.containerId ?? '?'} interface ${owner?.ifname ?? '?'}; request a free address or DEL that attachment first`,
      );
    }
    s.leases.setLastReserved(n, ip);
    return { ip, range: rangeFor(set, requested)! };
  }
  // reserveFirst stops at the address it takes, so the range of the last one yielded is its range.
  let range = set[0]!;
  const ips = (function* () {
    for (const c of candidates(set, s.leases.lastReserved(n))) {
      range = c.range;
      yield formatIp(ipOf(c.range, c.value));
    }
  })();
  const ip = s.leases.reserveFirst(ips, a);
  if (!ip) {
    throw new CniError(
      PluginCode.RangeExhausted,
      `no free address left in ${cfg.setLabels[n]} (${setText(set)}) of network ${cfg.network}; release some (DEL or GC) or add a range`,
    );
  }
  s.leases.setLastReserved(n, ip);
  return { ip, range };
}
