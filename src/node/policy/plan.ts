// NetworkPolicy semantics, resolved for one node: which local pods are isolated in which
// direction, and the rules (with peer addresses and ports resolved) that allow their traffic.
// table.ts writes this plan as nftables; tests evaluate it directly.
import { createHash } from 'node:crypto';
import { parseAddress, parseCIDR, type AddressRange, type IPFamily } from './address.ts';
import { indexCluster, type AddressedPod, type ClusterIndex } from './cluster.ts';
import type { NetworkPolicy } from './objects.ts';
import { ProblemSink } from './problems.ts';
import { inRanges, peerRanges, resolvePeers, resolvePorts, type CompiledRule } from './rule.ts';
import { SelectorError, selectorMatches, validateSelector } from './selector.ts';
import type { PolicyInput, PolicyProblem } from './types.ts';

export type Direction = 'ingress' | 'egress';

/** The rules of every policy isolating a pod in one direction, in one chain shared by all such pods. */
export interface PolicyChain {
  readonly name: string;
  readonly direction: Direction;
  /** `namespace/name` of the policies, sorted. */
  readonly policies: readonly string[];
  readonly rules: readonly CompiledRule[];
}

/** A pod this node enforces policy for, with the chains it is isolated by (none: not isolated). */
export interface LocalPod {
  readonly namespace: string;
  readonly name: string;
  readonly addresses: AddressedPod['addresses'];
  readonly ingress?: string;
  readonly egress?: string;
}

export interface PolicyPlan {
  readonly families: readonly IPFamily[];
  readonly nodeAddresses: readonly {
    readonly family: IPFamily;
    readonly value: bigint;
    readonly text: string;
  }[];
  readonly podCIDRs: readonly AddressRange[];
  readonly localPods: readonly LocalPod[];
  readonly chains: readonly PolicyChain[];
  readonly problems: readonly PolicyProblem[];
}

interface PolicyEffect {
  readonly key: string;
  readonly id: string;
  readonly selected: ReadonlySet<AddressedPod>;
  readonly ingress?: readonly CompiledRule[];
  readonly egress?: readonly CompiledRule[];
}

const shortHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** `np-<namespace>.<name>`, or a hash when that would not fit an nft set name with its suffix. */
function policyId(namespace: string, name: string): string {
  const id = `np-${namespace}.${name}`;
  return id.length <= 200 ? id : `np-${shortHash(`${namespace}/${name}`)}`;
}

/** policyTypes as the API server defaults them: Ingress always, Egress when there are egress rules. */
function policyTypes(policy: NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = policy.spec.policyTypes;
  if (types === undefined || types.length === 0) {
    return { ingress: true, egress: (policy.spec.egress?.length ?? 0) > 0 };
  }
  return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
}

const emptyCluster = indexCluster([], []);

function compilePolicy(
  policy: NetworkPolicy,
  wholeCluster: ClusterIndex,
  local: readonly AddressedPod[],
  problems: PolicyProblem[],
): PolicyEffect {
  const namespace = policy.metadata.namespace ?? 'default';
  const key = `${namespace}/${policy.metadata.name}`;
  const sink = new ProblemSink(problems, { kind: 'NetworkPolicy', namespace, name: policy.metadata.name });
  const id = policyId(namespace, policy.metadata.name);
  let selected: AddressedPod[];
  try {
    validateSelector(policy.spec.podSelector); // reported even when no pod is there to match
    selected = local.filter(
      (p) => p.namespace === namespace && selectorMatches(policy.spec.podSelector, p.labels),
    );
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    sink.add('spec.podSelector', `${err.message}; the policy selects no pod`);
    return { key, id, selected: new Set() };
  }
  // A policy that selects no pod of this node changes nothing here: its rules are still compiled,
  // against an empty cluster (cheap), only so that every node reports the same problems.
  const cluster = selected.length === 0 ? emptyCluster : wholeCluster;
  const types = policyTypes(policy);
  let ingress: CompiledRule[] | undefined;
  let egress: CompiledRule[] | undefined;
  if (types.ingress) {
    ingress = (policy.spec.ingress ?? []).map((rule, i): CompiledRule => {
      const field = `spec.ingress[${i}]`;
      const from = rule.from ?? [];
      const peers =
        from.length === 0 ? undefined : resolvePeers(from, namespace, cluster, `${field}.from`, sink);
      const ports = rule.ports ?? [];
      return {
        comment: `${key} ingress[${i}]`,
        id: `${id}-in${i}`,
        ...(peers === undefined ? {} : { peers: peerRanges(peers.pods, peers.ranges) }),
        ...(ports.length === 0 ? {} : { ports: resolvePorts(ports, selected, `${field}.ports`, sink) }),
      };
    });
  }
  if (types.egress) {
    egress = (policy.spec.egress ?? []).map((rule, i): CompiledRule => {
      const field = `spec.egress[${i}]`;
      const to = rule.to ?? [];
      const peers = to.length === 0 ? undefined : resolvePeers(to, namespace, cluster, `${field}.to`, sink);
      const ranges = peers === undefined ? undefined : peerRanges(peers.pods, peers.ranges);
      // A named port of an egress rule is looked up on the pods the traffic goes to: every pod the
      // peers select or whose address an ipBlock covers.
      let targets: readonly AddressedPod[] = cluster.pods;
      if (peers !== undefined) {
        const blocks = peers.ranges;
        const inBlock = (p: AddressedPod): boolean => p.addresses.some((a) => inRanges(blocks, a));
        targets =
          blocks.length === 0 ? peers.pods : [...new Set([...peers.pods, ...cluster.pods.filter(inBlock)])];
      }
      const ports = rule.ports ?? [];
      return {
        comment: `${key} egress[${i}]`,
        id: `${id}-eg${i}`,
        ...(ranges === undefined ? {} : { peers: ranges }),
        ...(ports.length === 0 ? {} : { ports: resolvePorts(ports, targets, `${field}.ports`, sink) }),
      };
    });
  }
  return {
    key,
    id,
    selected: new Set(selected),
    ...(ingress === undefined ? {} : { ingress }),
    ...(egress === undefined ? {} : { egress }),
  };
}

/** Resolves every policy against the cluster for the pods of `input.nodeName`. */
export function planNetworkPolicy(input: PolicyInput): PolicyPlan {
  const problems: PolicyProblem[] = [];
  const cluster = indexCluster(input.pods, input.namespaces);
  const local = cluster.pods.filter((p) => p.pod.spec?.nodeName === input.nodeName);
  const effects = [...input.networkPolicies]
    .sort((a, b) => policyKey(a).localeCompare(policyKey(b)))
    .map((policy) => compilePolicy(policy, cluster, local, problems))
    .filter((e) => e.selected.size > 0);

  const chains = new Map<string, PolicyChain>();
  const chainFor = (direction: Direction, pod: AddressedPod): string | undefined => {
    const applying = effects.filter((e) => e[direction] !== undefined && e.selected.has(pod));
    if (applying.length === 0) return undefined;
    const policies = applying.map((e) => e.key);
    // Named after the policy when one isolates the pod (the common case), else after the set of them.
    const only = applying.length === 1 ? applying[0] : undefined;
    const name = `${direction}-${only !== undefined ? only.id : shortHash(policies.join('\n'))}`;
    if (!chains.has(name)) {
      chains.set(name, { name, direction, policies, rules: applying.flatMap((e) => e[direction] ?? []) });
    }
    return name;
  };
  const localPods = local.map((pod): LocalPod => {
    const ingress = chainFor('ingress', pod);
    const egress = chainFor('egress', pod);
    return {
      namespace: pod.namespace,
      name: pod.name,
      addresses: pod.addresses,
      ...(ingress === undefined ? {} : { ingress }),
      ...(egress === undefined ? {} : { egress }),
    };
  });

  const nodeAddresses = input.nodeIPs.flatMap((text) => {
    const a = parseAddress(text);
    return a === undefined ? [] : [{ ...a, text }];
  });
  const podCIDRs = input.podCIDRs.flatMap((text) => {
    const r = parseCIDR(text);
    return r === undefined ? [] : [r];
  });
  const families = new Set<IPFamily>([
    ...podCIDRs.map((r) => r.family),
    ...nodeAddresses.map((a) => a.family),
    ...cluster.pods.flatMap((p) => p.addresses.map((a) => a.family)),
  ]);
  if (families.size === 0) families.add(4);
  return {
    families: [...families].sort(),
    nodeAddresses,
    podCIDRs,
    localPods,
    chains: [...chains.values()].sort((a, b) => a.name.localeCompare(b.name)),
    problems,
  };
}

function policyKey(p: NetworkPolicy): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
}
