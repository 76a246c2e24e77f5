// The host's bridge: created once by whichever ADD comes first, verified by every later one.
// Read through /sys/class/net (it shows the netns the plugin runs in) so the common case, an
// existing bridge, costs no process start.
import { existsSync, readFileSync } from 'node:fs';
import { CniError, ErrorCode } from '../cni/errors.js';
import { ip, isExists } from '../sys/ip.js';
import { randomMac } from './attachment.js';

export interface BridgeInfo {
  name: string;
  mac: string;
}

/**
 * Ensures bridge `name` exists (tolerating a concurrent creator) and returns it. A missing bridge is
 * created only after `createAfter` resolves (and not at all if it rejects).
 */
export async function ensureBridge(
  name: string,
  mtu: number,
  createAfter?: Promise<unknown>,
): Promise<BridgeInfo> {
  let found = readBridge(name);
  if (!found) {
    await createAfter;
    try {
      // A fixed MAC keeps the bridge's address stable as ports come and go.
      await ip(['link', 'add', name, 'address', randomMac(), 'mtu', String(mtu), 'type', 'bridge']);
    } catch (err) {
      if (!isExists(err)) throw err;
    }
    found = readBridge(name);
  }
  if (!found)
    throw new CniError(ErrorCode.TryAgainLater, `bridge "${name}" vanished while being created; try again`);
  if (found === 'not-a-bridge')
    throw new CniError(ErrorCode.InvalidConfig, `bridge: a device "${name}" exists and is not a bridge`);
  return found;
}

function readBridge(name: string): BridgeInfo | 'not-a-bridge' | undefined {
  const dir = `/sys/class/net/${name}`;
  if (!existsSync(dir)) return undefined;
  if (!existsSync(`${dir}/bridge`)) return 'not-a-bridge';
  return { name, mac: readFileSync(`${dir}/address`, 'utf8').trim() };
}
