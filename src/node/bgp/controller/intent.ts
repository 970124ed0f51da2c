import { isIPv4 } from 'node:net';
import type { Family } from '../message/index.ts';
import type { ServiceProblem } from '../../service/index.ts';
import { RoutingConfigError } from './errors.ts';
import { nodePolicy, type NodePolicy } from './node-policy.ts';
import { parseAsn, parsePeerRouters, type PeerRouter, type RoutingOptions } from './options.ts';

/** kube-router's per-node ASN annotation: nodes mesh (iBGP) with the nodes of their own ASN. */
export const NODE_ASN_ANNOTATION = 'kube-router.io/node.asn';
/** kube-router's per-node peer routers: comma lists, as `--peer-router-ips/asns/passwords`. */
export const PEER_ANNOTATIONS = {
  ips: 'kube-router.io/peer.ips',
  asns: 'kube-router.io/peer.asns',
  passwords: 'kube-router.io/peer.passwords',
  ports: 'kube-router.io/peer.ports',
  localips: 'kube-router.io/peer.localips',
} as const;

/**
 * kube-router's route reflector roles. `rr.server: <cluster id>` makes the node a reflector whose
 * clients are the nodes annotated `rr.client`; a client peers only with the servers, never with
 * other nodes. The cluster id is a 32-bit number or an IPv4 address.
 */
export const RR_ANNOTATIONS = {
  server: 'kube-router.io/rr.server',
  client: 'kube-router.io/rr.client',
} as const;

/** A Node or Service field the controller could not use: a log line and a Warning Event on it. */
export type RoutingProblem = ServiceProblem;

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
  /** The node is a route reflector client of this one (this node is `rr.server`). */
  readonly routeReflectorClient?: boolean;
  /** A peer router's own port and the address to reach it from (else the speaker's port, the node IP). */
  readonly port?: number;
  readonly localAddress?: string;
}

/** What this node's speaker should be: its identity, neighbors, the prefixes it originates. */
export interface RoutingIntent {
  readonly asn: number;
  readonly routerId: string;
  /** Route reflector cluster id, when this node is `rr.server`. */
  readonly clusterId?: string;
  /** The node's InternalIP the speaker listens on and connects from. */
  readonly nodeIP: string;
  /** The node's IPv6 InternalIP, next hop of its IPv6 pod CIDRs over the IPv4 sessions. */
  readonly nodeIPv6?: string;
  readonly families: readonly Family[];
  readonly neighbors: readonly IntentNeighbor[];
  /** The node's pod CIDRs. */
  readonly announce: readonly string[];
  /** Never imported: the service ranges, the node's own pod CIDRs and its `customimportreject`. */
  readonly rejectImport: readonly string[];
  /** The Node's policy annotations: communities and prepends towards external peers. */
  readonly policy: NodePolicy;
}

/** The intent, or why there is none yet; problems name what was skipped. */
export interface IntentResult {
  readonly intent?: RoutingIntent;
  readonly waiting?: string;
  readonly problems: readonly RoutingProblem[];
}

function nodeProblem(node: string, field: string, message: string): RoutingProblem {
  return { object: { kind: 'Node', namespace: '', name: node }, field, message };
}

/** kube-router's cluster id: a 32-bit number (written here as a dotted quad) or an IPv4 address. */
export function parseClusterId(text: string, what: string): string {
  const t = text.trim();
  if (isIPv4(t)) return t;
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n > 0xffffffff)
    throw new RoutingConfigError(
      'ERR_BGP_BAD_CLUSTER_ID',
      `${what}: ${JSON.stringify(text)} is not a cluster id (a 32-bit number or an IPv4 address)`,
    );
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function external(r: PeerRouter): IntentNeighbor {
  return {
    peerAddress: r.address,
    peerAs: r.asn,
    ...(r.md5Key ? { md5Key: r.md5Key } : {}),
    ...(r.port !== undefined ? { port: r.port } : {}),
    ...(r.localAddress !== undefined ? { localAddress: r.localAddress } : {}),
  };
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
 * routers, and its `spec.podCIDRs` to announce. With `kube-router.io/rr.server`/`rr.client`, clients
 * peer only with the servers, which reflect their routes. A peer Node whose annotation cannot be
 * read is a problem and stays as it was in `previous` (the intent applied now), so its session and
 * the others are not rebuilt; a bad annotation on this node's own Node throws RoutingConfigError.
 */
export function routingIntent(
  nodes: readonly RoutingNode[],
  nodeName: string,
  options: RoutingOptions,
  previous?: RoutingIntent,
): IntentResult {
  const problems: RoutingProblem[] = [];
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
  const selfA = self.metadata.annotations ?? {};
  const policy = nodePolicy(nodeName, selfA);
  const rrServer = selfA[RR_ANNOTATIONS.server];
  const clusterId =
    rrServer === undefined
      ? undefined
      : parseClusterId(rrServer, `Node ${nodeName} ${RR_ANNOTATIONS.server}`);
  const rrClient = clusterId === undefined && RR_ANNOTATIONS.client in selfA;
  const neighbors = new Map<string, IntentNeighbor>();
  for (const n of nodes) {
    if (n === self) continue;
    let peerAs: number;
    let field = NODE_ASN_ANNOTATION;
    try {
      peerAs = asnOf(n);
      field = RR_ANNOTATIONS.server;
      const id = n.metadata.annotations?.[RR_ANNOTATIONS.server];
      if (id !== undefined) parseClusterId(id, `Node ${n.metadata.name} ${RR_ANNOTATIONS.server}`);
    } catch (err) {
      if (!(err instanceof RoutingConfigError)) throw err;
      problems.push(nodeProblem(n.metadata.name, `metadata.annotations[${field}]`, err.message));
      // A typo must not tear down a working session: the node stays peered as it was, if it was.
      const kept = previous?.neighbors.find((x) => x.node === n.metadata.name);
      if (kept && previous?.asn === asn) neighbors.set(kept.peerAddress, kept);
      continue;
    }
    if (peerAs !== asn) continue;
    const na = n.metadata.annotations ?? {};
    const isServer = RR_ANNOTATIONS.server in na;
    const isClient = !isServer && RR_ANNOTATIONS.client in na;
    // Clients peer only with servers (both ways: a session one side never configures never comes up).
    if ((rrClient && !isServer) || (isClient && clusterId === undefined)) continue;
    const address = internalIP(n, false);
    if (!address) {
      problems.push(
        nodeProblem(
          n.metadata.name,
          'status.addresses',
          `Node ${n.metadata.name} has no IPv4 InternalIP; not peered`,
        ),
      );
      continue;
    }
    if (address === nodeIP) {
      problems.push(
        nodeProblem(
          n.metadata.name,
          'status.addresses',
          `Node ${n.metadata.name} has this node's InternalIP ${address}; not peered`,
        ),
      );
      continue;
    }
    const reflected = clusterId !== undefined && isClient;
    neighbors.set(address, {
      peerAddress: address,
      peerAs,
      node: n.metadata.name,
      ...(reflected ? { routeReflectorClient: true } : {}),
    });
  }
  // The Node's own peers first: its annotations are more specific than the global flags.
  const a = selfA;
  const own = parsePeerRouters(
    a[PEER_ANNOTATIONS.ips],
    a[PEER_ANNOTATIONS.asns],
    a[PEER_ANNOTATIONS.passwords],
    {
      ips: `Node ${nodeName} ${PEER_ANNOTATIONS.ips}`,
      asns: `Node ${nodeName} ${PEER_ANNOTATIONS.asns}`,
      passwords: `Node ${nodeName} ${PEER_ANNOTATIONS.passwords}`,
      ports: `Node ${nodeName} ${PEER_ANNOTATIONS.ports}`,
      localips: `Node ${nodeName} ${PEER_ANNOTATIONS.localips}`,
    },
    a[PEER_ANNOTATIONS.ports],
    a[PEER_ANNOTATIONS.localips],
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
      ...(clusterId !== undefined ? { clusterId } : {}),
      nodeIP,
      ...(nodeIPv6 ? { nodeIPv6 } : {}),
      families: v6 ? ['ipv4-unicast', 'ipv6-unicast'] : ['ipv4-unicast'],
      neighbors: [...neighbors.values()].sort((a, b) => (a.peerAddress < b.peerAddress ? -1 : 1)),
      announce,
      rejectImport: [
        ...options.serviceCIDRs,
        ...options.advertiseServiceClusterIPRanges,
        ...announce,
        ...policy.importReject,
      ],
      policy,
    },
    problems,
  };
}

/** The sessions an intent makes: identity and neighbors (everything but `announce`). */
export function sessionKey(i: RoutingIntent): string {
  return JSON.stringify([...speakerOf(i), i.neighbors]);
}

/**
 * What the speaker itself is made with; a change rebuilds it (a graceful restart). Neighbors are
 * not in it (they are added and removed on the running speaker) except whether any is a route
 * reflector client, which makes this speaker a reflector.
 */
export function speakerKey(i: RoutingIntent): string {
  return JSON.stringify([...speakerOf(i), i.neighbors.some((n) => n.routeReflectorClient === true)]);
}

function speakerOf(i: RoutingIntent): unknown[] {
  return [
    i.asn,
    i.routerId,
    i.clusterId,
    i.nodeIP,
    i.nodeIPv6,
    i.families,
    i.rejectImport,
    i.policy.communities,
    i.policy.prepend,
  ];
}
