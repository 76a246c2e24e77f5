// bridge-route's desired state: the shared local wiring (lib/plan/bridged.ts) plus a direct route to
// every other host's pods (`podCIDR via nodeIP`).
import { type BridgedConfig, bridgedPlan } from '../../lib/plan/bridged.js';
import type { PlanInput } from '../../lib/plan/contract.js';
import type { Plan } from '../../lib/plan/model.js';
import { directPeerRoutes } from '../../lib/plan/peers.js';

/** Prefix of host-side veth names: vb + 13 hex digits of the attachment's hash. */
export const HOST_VETH_PREFIX = 'vb';

export function plan(input: PlanInput<BridgedConfig>): Plan {
  const { cfg, peers, uplink } = input;
  const local = bridgedPlan(input, { hostLinkPrefix: HOST_VETH_PREFIX, mtu: cfg.mtu ?? uplink.mtu });
  const routes = input.remote ? directPeerRoutes(peers, cfg.podCIDRs) : [];
  return { ...local, shared: [...local.shared, ...routes] };
}
