// One ingress or egress rule of a NetworkPolicy, resolved against the cluster: the addresses its
// peers have now and the ports it opens.
import { mergeRanges, parseCIDR, rangeContains, subtractRanges, type AddressRange } from './address.ts';
import type { AddressedPod, ClusterIndex, PodAddress } from './cluster.ts';
import type { NetworkPolicyPeer, NetworkPolicyPort } from './objects.ts';
import { SelectorError, selectorMatches, validateSelector } from './selector.ts';
import type { ProblemSink } from './problems.ts';

export type Protocol = 'tcp' | 'udp';

/** A numeric port or port range of one protocol (`first..last`, both included). */
export interface PortRange {
  readonly protocol: Protocol;
  readonly first: number;
  readonly last: number;
}

/** A named port resolved on one pod: traffic to `address` on `protocol`/`port`. */
export interface NamedPortTarget {
  readonly address: PodAddress;
  readonly protocol: Protocol;
  readonly port: number;
}

/** What one rule allows; traffic matches when its peer matches and one of its ports does. */
export interface CompiledRule {
  /** Names the rule for people: `x/allow-a ingress[0]`. */
  readonly comment: string;
  /** Stem of the names of the rule's sets: `np-x.allow-a-in0`. */
  readonly id: string;
  /** Addresses of the peers (disjoint ranges); undefined when the rule has no peer list (any). */
  readonly peers?: readonly AddressRange[];
  /** Undefined: every port and protocol. Otherwise numeric ports plus, if `named`, named ones. */
  readonly ports?: { readonly numeric: readonly PortRange[]; readonly named?: readonly NamedPortTarget[] };
}

const protocols: Readonly<Record<string, Protocol>> = { TCP: 'tcp', UDP: 'udp' };

/** The pods that `peers` select (undefined peers: every pod), and the ipBlock ranges they name. */
export function resolvePeers(
  peers: readonly NetworkPolicyPeer[],
  policyNamespace: string,
  cluster: ClusterIndex,
  field: string,
  problems: ProblemSink,
): { pods: AddressedPod[]; ranges: AddressRange[] } {
  const pods = new Set<AddressedPod>();
  const ranges: AddressRange[] = [];
  peers.forEach((peer, i) => {
    const at = `${field}[${i}]`;
    const hasSelector = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
    if (peer.ipBlock !== undefined) {
      if (hasSelector) return problems.add(at, 'ipBlock cannot be combined with a selector; peer ignored');
      const block = parseCIDR(peer.ipBlock.cidr);
      if (block === undefined) return problems.add(`${at}.ipBlock.cidr`, `not a CIDR: ${peer.ipBlock.cidr}`);
      const holes: AddressRange[] = [];
      for (const [j, text] of (peer.ipBlock.except ?? []).entries()) {
        const hole = parseCIDR(text);
        if (hole === undefined) problems.add(`${at}.ipBlock.except[${j}]`, `not a CIDR: ${text}; ignored`);
        else holes.push(hole);
      }
      ranges.push(...subtractRanges(block, holes));
      return;
    }
    if (!hasSelector)
      return problems.add(at, 'a peer needs a podSelector, namespaceSelector or ipBlock; ignored');
    try {
      // Reported even when nothing is there to match.
      validateSelector(peer.namespaceSelector);
      validateSelector(peer.podSelector);
      const namespaces =
        peer.namespaceSelector === undefined
          ? [policyNamespace]
          : cluster.namespaces.filter((n) =>
              selectorMatches(peer.namespaceSelector, cluster.namespaceLabels(n)),
            );
      for (const n of namespaces) {
        for (const pod of cluster.podsByNamespace.get(n) ?? []) {
          if (selectorMatches(peer.podSelector, pod.labels)) pods.add(pod);
        }
      }
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      problems.add(at, `${err.message}; peer ignored`);
    }
  });
  return { pods: [...pods], ranges };
}

/** Disjoint ranges covering the peers' pods and ipBlocks, IPv4 before IPv6. */
export function peerRanges(pods: readonly AddressedPod[], ranges: readonly AddressRange[]): AddressRange[] {
  const all = [...ranges];
  for (const pod of pods)
    for (const a of pod.addresses) all.push({ family: a.family, first: a.value, last: a.value });
  return [
    ...mergeRanges(all.filter((r) => r.family === 4)),
    ...mergeRanges(all.filter((r) => r.family === 6)),
  ];
}

/** Whether a pod address falls in the ranges of a peer list. */
export function inRanges(ranges: readonly AddressRange[], address: PodAddress): boolean {
  return ranges.some((r) => rangeContains(r, address.family, address.value));
}

/**
 * Resolves a rule's ports. Named ports resolve on `namedPortPods` (the selected pod itself for
 * ingress, the peers for egress). Ports this kernel cannot match (SCTP) are reported and left out,
 * so a rule that names only those allows nothing rather than everything.
 */
export function resolvePorts(
  ports: readonly NetworkPolicyPort[],
  namedPortPods: readonly AddressedPod[],
  field: string,
  problems: ProblemSink,
): { numeric: PortRange[]; named?: NamedPortTarget[] } {
  const numeric: PortRange[] = [];
  let named: NamedPortTarget[] | undefined;
  ports.forEach((p, i) => {
    const at = `${field}[${i}]`;
    const protocolName = p.protocol ?? 'TCP';
    const protocol = protocols[protocolName];
    if (protocol === undefined) {
      const why = protocolName === 'SCTP' ? 'SCTP is not supported by this kernel' : 'unknown protocol';
      return problems.add(
        `${at}.protocol`,
        `${why} (${protocolName}); this port is left out, the rest applies`,
      );
    }
    if (p.port === undefined) return numeric.push({ protocol, first: 0, last: 65535 });
    if (typeof p.port === 'number') {
      const last = p.endPort ?? p.port;
      if (last < p.port)
        return problems.add(`${at}.endPort`, `endPort ${last} is below port ${p.port}; port left out`);
      return numeric.push({ protocol, first: p.port, last });
    }
    named ??= [];
    for (const pod of namedPortPods) {
      for (const cp of pod.ports) {
        if (cp.name !== p.port || (cp.protocol ?? 'TCP') !== protocolName) continue;
        for (const address of pod.addresses) named.push({ address, protocol, port: cp.containerPort });
      }
    }
  });
  const merged = mergePortRanges(numeric);
  return named === undefined ? { numeric: merged } : { numeric: merged, named };
}

/** Sorted, disjoint port ranges (nft refuses overlapping elements in an interval set). */
function mergePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.first - b.first);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const prev = out.at(-1);
    if (prev !== undefined && prev.protocol === r.protocol && r.first <= prev.last + 1) {
      out[out.length - 1] = { ...prev, last: Math.max(prev.last, r.last) };
    } else {
      out.push(r);
    }
  }
  return out;
}
