// The five verbs of host-local. Each is a short script over the config loader and the locked store.
import { closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { formatIp, parseIp } from '../../lib/base/ip.js';
import { CniError, ErrorCode, PluginCode } from '../../lib/cni/errors.js';
import type { Request } from '../../lib/cni/plugin.js';
import type { Result } from '../../lib/cni/result.js';
import { isUnwritable } from '../../lib/sys/files.js';
import { allocate } from './allocate.js';
import { dataDirOf, dataDirProblem, loadConfig, loadStoreConfig, type StoreConfig } from './config.js';
import { readResolvConf } from './dns.js';
import { LeaseDir, LOCK_FILE } from './leases.js';
import { candidates, ipOf, rangeFor, setText, usableCount } from './range.js';
import { leasesOf, networkDir, withStore } from './store.js';

const attachmentOf = (req: Request) => ({ containerId: req.containerId, ifname: req.ifname });

export async function add(req: Request): Promise<Result> {
  const cfg = loadConfig(req.conf, req.cniArgs);
  const dns = cfg.resolvConf ? readResolvConf(cfg.resolvConf) : {};
  try {
    const ips = await withStore(cfg, (s) => allocate(s, cfg, attachmentOf(req)));
    return { interfaces: [], ips, routes: cfg.routes, dns };
  } catch (err) {
    // allocate() released what it had taken: the ADD leaves no lease.
    if (!isUnwritable(err)) throw err;
    throw new CniError(
      ErrorCode.IoFailure,
      `ipam.dataDir ${cfg.dataDir} cannot take a lease (${(err as NodeJS.ErrnoException).code}: full or read-only)`,
    );
  }
}

/**
 * DEL and GC on a read-only data dir: nothing can be released there, and failing would only make
 * the runtime retry forever. They succeed with a warning; the leases stay until a GC runs on the
 * writable dir (a full dir is no problem: removing a lease needs no space).
 */
async function releasing(req: Request, cfg: StoreConfig, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isUnwritable(err)) throw err;
    req.log.warn(
      `ipam.dataDir ${cfg.dataDir} is not writable (${(err as NodeJS.ErrnoException).code}): leases of ${networkDir(cfg)} stay until a GC on a writable dir`,
    );
  }
}

/** A data dir that can hold no lease has none to release: DEL and GC succeed (with a warning). */
function unusable(req: Request): boolean {
  const problem = dataDirProblem(dataDirOf(req.conf));
  if (problem) req.log.warn(`ipam.dataDir ${problem}: no lease can be there, nothing to release`);
  return problem !== undefined;
}

/** Releases by (containerID, ifname); needs no netns and no valid ranges, and succeeds when nothing is leased. */
export async function del(req: Request): Promise<void> {
  if (unusable(req)) return;
  const cfg = loadStoreConfig(req.conf);
  if (!existsSync(networkDir(cfg))) return; // never leased here: nothing to release, nothing to create
  await releasing(req, cfg, () =>
    withStore(cfg, (s) => {
      const { ips, keys } = leasesOf(s, attachmentOf(req));
      const entries = s.index.usable ? keys.filter((key) => s.index.get(key).length) : [];
      if (!ips.length && !entries.length) return;
      s.index.invalidate();
      for (const ip of ips) s.leases.release(ip);
      for (const key of entries) s.index.set(key, []);
      s.index.seal();
    }),
  );
}

/** The attachment holds a lease, and every prevResult address inside our ranges is one of its leases. */
export async function check(req: Request): Promise<void> {
  const cfg = loadConfig(req.conf, req.cniArgs);
  const a = attachmentOf(req);
  const held = existsSync(networkDir(cfg)) ? await withStore(cfg, (s) => leasesOf(s, a).ips) : [];
  const who = `container ${a.containerId} interface ${a.ifname}`;
  if (!held.length) throw new CniError(PluginCode.CheckFailed, `${who} holds no lease in ${networkDir(cfg)}`);
  for (const ipc of req.conf.prevResult?.ips ?? []) {
    const ip = parseIp(ipc.address.split('/')[0]!);
    if (!ip || !cfg.sets.some((set) => rangeFor(set, ip))) continue;
    if (!held.includes(formatIp(ip))) {
      throw new CniError(
        PluginCode.CheckFailed,
        `prevResult address ${ipc.address} is not leased to ${who}; its leases: ${held.join(', ')}`,
      );
    }
  }
}

/** Releases every lease whose attachment is not in the valid list; lock and last_reserved files stay. */
export async function gc(req: Request): Promise<void> {
  if (unusable(req)) return;
  const cfg = loadStoreConfig(req.conf);
  const valid = new Set(req.attachments.map((a) => `${a.containerID.trim()}\r\n${a.ifname}`));
  const validIds = new Set(req.attachments.map((a) => a.containerID.trim()));
  if (!existsSync(networkDir(cfg))) return;
  await releasing(req, cfg, () =>
    withStore(
      cfg,
      (s) => {
        const all = s.leases.scan();
        for (const [ip, o] of all) {
          const keep =
            o.ifname === undefined
              ? validIds.has(o.containerId)
              : valid.has(`${o.containerId}\r\n${o.ifname}`);
          if (keep) continue;
          req.log.info(`GC releases ${ip}`, { holder: o });
          s.leases.release(ip);
          all.delete(ip);
        }
        s.index.rebuild(all);
      },
      { trustIndex: false },
    ),
  );
}

/** 50 when the data dir cannot hold leases or a range set has no free address (ADD would fail). */
export async function status(req: Request): Promise<void> {
  const cfg = loadConfig(req.conf, req.cniArgs);
  const dir = networkDir(cfg);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    closeSync(openSync(join(dir, LOCK_FILE), constants.O_RDWR | constants.O_CREAT, 0o600));
  } catch (err) {
    throw new CniError(
      ErrorCode.NotAvailable,
      `data dir ${dir} is unusable (${(err as NodeJS.ErrnoException).code ?? String(err)}); check ipam.dataDir`,
    );
  }
  const leases = new LeaseDir(dir, '');
  const entries = leases.countEntries();
  cfg.sets.forEach((set, n) => {
    // A set larger than the directory has free addresses; only smaller ones need a look.
    if (usableCount(set) > BigInt(entries)) return;
    for (const c of candidates(set, undefined)) if (!leases.read(formatIp(ipOf(c.range, c.value)))) return;
    throw new CniError(
      ErrorCode.NotAvailable,
      `${cfg.setLabels[n]} (${setText(set)}) has no free address; release some (DEL or GC) or add a range`,
    );
  });
}
