// portmap: a chained plugin that publishes pod ports on the host (hostPort → pod:containerPort) in
// nftables, reading the pod's addresses from prevResult. Its elements are keyed by the attachment
// (see rules.ts), so DEL and GC need neither the runtime's portMappings nor the netns.
import { CniError, configError, ErrorCode, PluginCode } from '../../lib/cni/errors.js';
import type { Plugin, Request } from '../../lib/cni/plugin.js';
import type { Result } from '../../lib/cni/result.js';
import { attachmentOf } from '../../lib/engine/plugin.js';
import { routeDevice } from '../../lib/engine/uplink.js';
import { systemHost } from '../../lib/host/system.js';
import { flushUdpPorts } from '../../lib/sys/conntrack.js';
import { holdLock } from '../../lib/sys/lock.js';
import { nftApply, nftList } from '../../lib/sys/nft.js';
import { hasTool } from '../../lib/sys/run.js';
import { ensureSysctl } from '../../lib/sys/sysctl.js';
import { loadConfig, type PortmapConfig } from './config.js';
import {
  addScript,
  baseScript,
  deleteScript,
  dropTableScript,
  type Element,
  ownerKey,
  type PodAddress,
  parseTable,
  plannedElements,
  podAddresses,
  refuseHeld,
  sameElement,
  TABLE,
  type Table,
  udpPortsOf,
} from './rules.js';

/** Read-modify-write of the table is serialised on the host: a held port is checked, then taken. */
const LOCK = 'portmap';

const readTable = async (): Promise<Table> =>
  parseTable(await nftList(['list', 'table', ...TABLE.split(' ')]));

function chained(req: Request): Result {
  const prev = req.conf.prevResult;
  if (!prev)
    throw configError(
      'prevResult is missing: portmap runs chained after a plugin that gives the pod its addresses (bridge-route, vxlan, …)',
    );
  return prev;
}

async function add(req: Request): Promise<Result> {
  const cfg = loadConfig(req.conf);
  const prev = chained(req);
  if (!cfg.mappings.length) return prev;
  const pod = podAddresses(prev);
  if (!pod.length)
    throw configError('prevResult has no address for the pod: there is nothing to map ports to');
  const owner = ownerKey(attachmentOf(req));
  const planned = plannedElements(cfg, pod, owner);
  const release = await holdLock(LOCK);
  try {
    const held = (await readTable()).elements;
    refuseHeld(planned, held, owner);
    // A repeated ADD (or one after a killed ADD) replaces this attachment's elements.
    const own = held.filter((e) => e.owner === owner);
    await nftApply(baseScript() + deleteScript(own) + addScript(planned));
  } finally {
    release();
  }
  localhostRouting(cfg, pod, req);
  if (!(await flushUdpPorts(udpPorts(cfg, pod))))
    req.log.warn(
      'conntrack is not installed: UDP flows tracked before this mapping keep their old destination',
    );
  return prev;
}

/**
 * 127.0.0.1:hostPort: the DNATed packet leaves with source 127.0.0.1 (masqueraded after routing),
 * which the kernel allows only out of a device with route_localnet. Set on the device that leads to
 * the pod (its bridge), as the reference does; it lets that device route loopback sources.
 */
function localhostRouting(cfg: PortmapConfig, pod: readonly PodAddress[], req: Request): void {
  const v4 = pod.find((a) => a.family === 4);
  if (!cfg.snat || !v4 || !cfg.mappings.some((m) => m.hostIP === undefined || m.hostIP.startsWith('127.')))
    return;
  const dev = routeDevice(systemHost, v4.ip);
  if (dev) ensureSysctl(`net/ipv4/conf/${dev}/route_localnet`, '1');
  else req.log.warn(`no route to ${v4.ip}: 127.0.0.1:hostPort will not reach the pod`);
}

const udpPorts = (cfg: PortmapConfig, pod: readonly PodAddress[]) =>
  cfg.mappings
    .filter((m) => m.protocol === 'udp')
    .flatMap((m) =>
      m.families
        .filter((f) => pod.some((a) => a.family === f))
        .map((family) => ({ family, port: m.hostPort })),
    );

/**
 * Removes the elements `doomed` picks, or the whole table when nothing else is left; then the UDP
 * flows conntrack holds for their host ports, which would otherwise keep sending a recreated
 * pod's datagrams to the old address (containernetworking/plugins #123).
 */
async function removeElements(req: Request, doomed: (e: Element) => boolean): Promise<void> {
  if (!hasTool('nft')) {
    req.log.warn('nft is not installed: no port mapping can exist, nothing to remove');
    return;
  }
  const release = await holdLock(LOCK);
  try {
    const { elements } = await readTable();
    const gone = elements.filter(doomed);
    if (!gone.length) return;
    await nftApply(gone.length === elements.length ? dropTableScript() : deleteScript(gone));
    // Under the lock: a new ADD of the same port flushes after its elements are in, never before ours.
    if (!(await flushUdpPorts(udpPortsOf(gone))))
      req.log.warn('conntrack is not installed: UDP flows of the removed mappings stay until they time out');
  } finally {
    release();
  }
}

async function check(req: Request): Promise<void> {
  const cfg = loadConfig(req.conf);
  const prev = chained(req);
  if (!cfg.mappings.length) return;
  const planned = plannedElements(cfg, podAddresses(prev), ownerKey(attachmentOf(req)));
  const { elements, chains } = await readTable();
  for (const c of ['pm_pre', 'pm_out', 'pm_dnat', 'pm_post'])
    if (!chains.includes(c))
      throw new CniError(PluginCode.CheckFailed, `chain ${c} of table ${TABLE} is missing`);
  for (const p of planned) {
    if (elements.some((e) => sameElement(e, p, true))) continue;
    const found = elements.find((e) => sameElement(e, p));
    const what = `${p.set} element ${p.parts.join(' . ')}${p.value ? ` → ${p.value}` : ''}`;
    throw new CniError(
      PluginCode.CheckFailed,
      found
        ? `${what} is ${found.value ?? ''} for ${found.owner ?? 'no owner'} instead`
        : `${what} is missing`,
    );
  }
}

const plugin: Plugin = {
  add,
  async del(req) {
    const owner = ownerKey(attachmentOf(req));
    await removeElements(req, (e) => e.owner === owner);
  },
  check,
  async gc(req) {
    const keep = new Set(
      req.attachments.map((a) =>
        ownerKey({ network: req.conf.name, containerId: a.containerID, ifname: a.ifname }),
      ),
    );
    const mine = `${req.conf.name}/`;
    await removeElements(req, (e) => !!e.owner?.startsWith(mine) && !keep.has(e.owner));
  },
  async status() {
    if (!hasTool('nft'))
      throw new CniError(ErrorCode.NotAvailable, 'nft is not installed: port mappings cannot be made');
  },
};

export default plugin;
