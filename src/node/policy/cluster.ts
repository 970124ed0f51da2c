// The cluster as the compiler sees it: pods with their addresses, indexed by namespace, and each
// namespace's labels.
import { parseAddress, type IPFamily } from './address.ts';
import type { ContainerPort, Namespace, Pod } from './objects.ts';

export interface PodAddress {
  readonly family: IPFamily;
  readonly value: bigint;
  readonly text: string;
}

/** A pod that has addresses of its own (not host network, not finished). */
export interface AddressedPod {
  readonly pod: Pod;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly addresses: readonly PodAddress[];
  readonly ports: readonly ContainerPort[];
}

export interface ClusterIndex {
  readonly pods: readonly AddressedPod[];
  readonly podsByNamespace: ReadonlyMap<string, readonly AddressedPod[]>;
  readonly namespaceLabels: (namespace: string) => Readonly<Record<string, string>>;
  readonly namespaces: readonly string[];
}

function podAddresses(pod: Pod): PodAddress[] {
  const texts = pod.status?.podIPs?.map((p) => p.ip) ?? [];
  if (texts.length === 0 && pod.status?.podIP !== undefined && pod.status.podIP !== '')
    texts.push(pod.status.podIP);
  const out: PodAddress[] = [];
  for (const text of new Set(texts)) {
    const parsed = parseAddress(text);
    if (parsed !== undefined) out.push({ ...parsed, text });
  }
  return out;
}

function containerPorts(pod: Pod): ContainerPort[] {
  const out: ContainerPort[] = [];
  for (const c of pod.spec?.containers ?? []) out.push(...(c.ports ?? []));
  // Sidecars (restartable init containers) serve like containers do.
  for (const c of pod.spec?.initContainers ?? [])
    if (c.restartPolicy === 'Always') out.push(...(c.ports ?? []));
  return out;
}

/**
 * Indexes the pods that take part in policy: a host-network pod's address is its node's, and a
 * finished pod's address may already belong to another pod, so neither is a policy peer.
 */
export function indexCluster(pods: readonly Pod[], namespaces: readonly Namespace[]): ClusterIndex {
  const addressed: AddressedPod[] = [];
  const byNamespace = new Map<string, AddressedPod[]>();
  for (const pod of pods) {
    if (pod.spec?.hostNetwork === true) continue;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const addresses = podAddresses(pod);
    if (addresses.length === 0) continue;
    const namespace = pod.metadata.namespace ?? 'default';
    const entry: AddressedPod = {
      pod,
      namespace,
      name: pod.metadata.name,
      labels: pod.metadata.labels ?? {},
      addresses,
      ports: containerPorts(pod),
    };
    addressed.push(entry);
    let list = byNamespace.get(namespace);
    if (list === undefined) byNamespace.set(namespace, (list = []));
    list.push(entry);
  }
  const labels = new Map<string, Readonly<Record<string, string>>>();
  for (const ns of namespaces) {
    // The API server sets this label on every namespace; a namespace seen only through its pods
    // still carries it.
    labels.set(ns.metadata.name, { 'kubernetes.io/metadata.name': ns.metadata.name, ...ns.metadata.labels });
  }
  const names = new Set<string>([...labels.keys(), ...byNamespace.keys()]);
  return {
    pods: addressed,
    podsByNamespace: byNamespace,
    namespaceLabels: (n) => labels.get(n) ?? { 'kubernetes.io/metadata.name': n },
    namespaces: [...names].sort(),
  };
}
