// gre's desired state: the shared local wiring (lib/plan/bridged.ts) plus one tunnel per other host,
// from this host's underlay address to the peer's nodeIP:
// - mode "l3": a GRE device (gre, or ip6gre on an IPv6 underlay) and the route `podCIDR dev <it>`;
// - mode "l2": a gretap device (ip6gretap) as a port of the bridge, `isolated on` so that a frame
//   from one tunnel is never forwarded into another (split horizon: with three hosts a full mesh of
//   L2 tunnels would otherwise loop broadcasts forever); one subnet spans the hosts.
// Why a device per peer rather than one NBMA device (`remote any`, routes `via nodeIP onlink`, as
// Calico does for IPIP): gretap cannot be NBMA, ip6gre cannot either, and NBMA ip_gre carries IPv6
// pods only through v4-compatible next hops. Per-peer devices serve both modes and both families
// with one mechanism, and show per-peer counters. They are objects to other hosts: written only
// when the peers or the config change (engine/scope.ts), so ADD stays flat as peers grow; each
// carries an alias naming its peer, and goes when its peer leaves.

import { ipFamily } from '../../lib/base/ip.js';
import { configError } from '../../lib/cni/errors.js';
import { peerLinkAlias, shortHash } from '../../lib/plan/attachment.js';
import { bridgedPlan } from '../../lib/plan/bridged.js';
import type { PlanInput } from '../../lib/plan/contract.js';
import type { HostObject, LinkSpec, LinkType, Plan } from '../../lib/plan/model.js';
import { type Peer, remotePeers } from '../../lib/plan/peers.js';
import { localAddress } from '../../lib/plan/tunnel.js';
import type { GreConfig } from './config.js';

/** Prefix of host-side veth names: ge + 13 hex digits of the attachment's hash. */
export const HOST_VETH_PREFIX = 'ge';

/** A peer's tunnel: gr (l3) or gt (l2) + 13 hex digits of (network, nodeIP), 15 bytes. */
export const tunnelName = (cfg: Pick<GreConfig, 'network' | 'mode'>, nodeIP: string) =>
  `${cfg.mode === 'l3' ? 'gr' : 'gt'}${shortHash(cfg.network, nodeIP).slice(0, 13)}`;

/** Bytes a tunnel adds: outer IP header, GRE header (+ key), and the inner Ethernet header in l2. */
export function overhead(cfg: Pick<GreConfig, 'mode' | 'key'>, underlayFamily: 4 | 6): number {
  return (
    (underlayFamily === 6 ? 40 : 20) + 4 + (cfg.key === undefined ? 0 : 4) + (cfg.mode === 'l2' ? 14 : 0)
  );
}

export function plan(input: PlanInput<GreConfig>): Plan {
  const { cfg, uplink } = input;
  const local = localAddress(cfg, uplink);
  const family = ipFamily(local);
  const mtu = cfg.mtu ?? uplink.mtu - overhead(cfg, family);
  const base = bridgedPlan(input, { hostLinkPrefix: HOST_VETH_PREFIX, mtu });
  const others = input.remote ? input.peers.filter((p) => p.nodeIP !== local) : [];
  const tunnels = [...new Map(others.map((p) => [p.nodeIP, p])).values()].map((p) =>
    tunnel(cfg, p, local, mtu, uplink.dev),
  );
  const routes: HostObject[] =
    cfg.mode === 'l3'
      ? remotePeers(others, cfg.podCIDRs).map((p) => ({
          kind: 'route',
          dst: p.podCIDR,
          dev: tunnelName(cfg, p.nodeIP),
        }))
      : [];
  return { ...base, shared: [...base.shared, ...tunnels, ...routes] };
}

function tunnel(cfg: GreConfig, peer: Peer, local: string, mtu: number, dev: string): LinkSpec {
  const v6 = ipFamily(local) === 6;
  if (ipFamily(peer.nodeIP) !== ipFamily(local))
    throw configError(
      `peer "${peer.name}": nodeIP ${peer.nodeIP} is not of the family of this host's underlay address ${local}`,
    );
  const type: LinkType = `${v6 ? 'ip6' : ''}${cfg.mode === 'l3' ? 'gre' : 'gretap'}`;
  const key = cfg.key === undefined ? [] : ['key', String(cfg.key)];
  return {
    kind: 'link',
    name: tunnelName(cfg, peer.nodeIP),
    type,
    mtu,
    alias: peerLinkAlias(cfg.network, peer.nodeIP),
    attrs: [
      'local',
      local,
      'remote',
      peer.nodeIP,
      'ttl',
      String(cfg.ttl),
      ...key,
      // ip6gre would add an 8-byte encapsulation-limit option to every packet.
      ...(v6 ? ['encaplimit', 'none'] : []),
      ...(dev ? ['dev', dev] : []),
    ],
    data: { local, remote: peer.nodeIP },
    ...(cfg.mode === 'l2' ? { master: cfg.bridge, isolated: true } : {}),
  };
}
