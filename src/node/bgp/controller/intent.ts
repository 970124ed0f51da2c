import type { Family } from '../message/index.ts';
import { RoutingConfigError } from './errors.ts';
import { parseAsn, parsePeerRouters, type PeerRouter, type RoutingOptions } from './options.ts';

/** kube-router's per-node ASN annotation: nodes mesh (iBGP) with the nodes of their own ASN. */
export const NODE_ASN_ANNOTATION = 'kube-router.io/node.asn';
/** kube-router's per-node peer routers: comma lists, as `--peer-router-ips/asns/passwords`. */
export const PEER_ANNOTATIONS = {
  ips: 'kube-router.io/peer.ips',
  asns: 'kube-router.io/peer.asns',
  passwords: 'kube-router.io/peer.passwords',
} as const;

/** The parts of a Node the routing controller reads. */
export interface RoutingNode {
  readonly metadata: { readonly name: string; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec?: { readonly podCIDR?: string; readonly podCIDRs?: readonly string[] };
  readonly status?: { readonly addresses?: readonly { readonly type: string; readonly address: string }[] };
}

/** One neighbor the node should have: another node of its mesh, or a router from the flags. */
export interface IntentNeighbor {
  readonly peerAddress: string;
  readonly peerAs: number;
  /** The Node it is, for a mesh member. */
  readonly node?: string;
  readonly md5Key?: string;
}

/** What this node's speaker should be: its identity, neighbors, the prefixes it originates. */
export interface RoutingIntent {
  readonly asn: number;
  readonly routerId: string;
  /** The node's InternalIP the speaker listens on and connects from. */
  readonly nodeIP: string;
  /** The node's IPv6 InternalIP, next hop of its IPv6 pod CIDRs over the IPv4 sessions. */
  readonly nodeIPv6?: string;
  readonly families: readonly Family[];
  readonly neighbors: readonly IntentNeighbor[];
  /** The node's pod CIDRs. */
  readonly announce: readonly string[];
  /** Never imported: the service ranges and the node's own pod CIDRs. */
  readonly rejectImport: readonly string[];
}

/** The intent, or why there is none yet; problems name what was skipped. */
export interface IntentResult {
  readonly intent?: RoutingIntent;
  readonly waiting?: string;
  readonly problems: readonly string[];
}

function external(r: PeerRouter): IntentNeighbor {
  return { peerAddress: r.address, peerAs: r.asn, ...(r.md5Key ? { md5Key: r.md5Key } : {}) };
}

function podCIDRs(n: RoutingNode): string[] {
  return [...(n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []))];
}

function internalIP(n: RoutingNode, v6: boolean): string | undefined {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP' && a.address.includes(':') === v6)?.address;
}

/**
 * Nodes → this node's BGP intent (pure): a full iBGP mesh among the nodes of its ASN (the cluster
 * ASN, or `kube-router.io/node.asn`), sessions over the nodes' IPv4 InternalIPs, the global peer
 * routers, and its `spec.podCIDRs` to announce.
 */
export function routingIntent(
  nodes: readonly RoutingNode[],
  nodeName: string,
  options: RoutingOptions,
): IntentResult {
  const problems: string[] = [];
  const self = nodes.find((n) => n.metadata.name === nodeName);
  if (!self) return { waiting: `Node ${nodeName} not found`, problems };
  const nodeIP = internalIP(self, false);
  if (!nodeIP) return { waiting: `Node ${nodeName} has no IPv4 InternalIP`, problems };
  const asnOf = (n: RoutingNode): number => {
    const a = n.metadata.annotations?.[NODE_ASN_ANNOTATION];
    return a === undefined
      ? options.clusterAsn
      : parseAsn(a, `Node ${n.metadata.name} ${NODE_ASN_ANNOTATION}`);
  };
  const asn = asnOf(self);
  const neighbors = new Map<string, IntentNeighbor>();
  for (const n of nodes) {
    if (n === self) continue;
    let peerAs: number;
    try {
      peerAs = asnOf(n);
    } catch (err) {
      if (!(err instanceof RoutingConfigError)) throw err;
      problems.push(err.message);
      continue;
    }
    if (peerAs !== asn) continue;
    const address = internalIP(n, false);
    if (!address) {
      problems.push(`Node ${n.metadata.name} has no IPv4 InternalIP; not peered`);
      continue;
    }
    if (address === nodeIP) {
      problems.push(`Node ${n.metadata.name} has this node's InternalIP ${address}; not peered`);
      continue;
    }
    neighbors.set(address, { peerAddress: address, peerAs, node: n.metadata.name });
  }
  // The Node's own peers first: its annotations are more specific than the global flags.
  const a = self.metadata.annotations ?? {};
  const own = parsePeerRouters(
    a[PEER_ANNOTATIONS.ips],
    a[PEER_ANNOTATIONS.asns],
    a[PEER_ANNOTATIONS.passwords],
    {
      ips: `Node ${nodeName} ${PEER_ANNOTATIONS.ips}`,
      asns: `Node ${nodeName} ${PEER_ANNOTATIONS.asns}`,
      passwords: `Node ${nodeName} ${PEER_ANNOTATIONS.passwords}`,
    },
  );
  for (const r of [...own, ...options.peerRouters])
    if (!neighbors.has(r.address) && r.address !== nodeIP) neighbors.set(r.address, external(r));
  const announce = podCIDRs(self);
  const nodeIPv6 = internalIP(self, true);
  const v6 =
    announce.some((c) => c.includes(':')) || nodes.some((n) => podCIDRs(n).some((c) => c.includes(':')));
  return {
    intent: {
      asn,
      routerId: nodeIP,
      nodeIP,
      ...(nodeIPv6 ? { nodeIPv6 } : {}),
      families: v6 ? ['ipv4-unicast', 'ipv6-unicast'] : ['ipv4-unicast'],
      neighbors: [...neighbors.values()].sort((a, b) => (a.peerAddress < b.peerAddress ? -1 : 1)),
      announce,
      rejectImport: [...options.serviceCIDRs, ...announce],
    },
    problems,
  };
}

/** The part of an intent that needs a new speaker when it changes (everything but `announce`). */
export function sessionKey(i: RoutingIntent): string {
  return JSON.stringify([i.asn, i.routerId, i.nodeIP, i.nodeIPv6, i.families, i.neighbors, i.rejectImport]);
}
