// A small cluster for the semantics tests: pods a, b, c in namespaces x, y, z (as the upstream
// NetworkPolicy e2e lays them out), x/* on node n1 and the rest on n2, each serving
// serve-80-tcp/serve-81-tcp/serve-80-udp/serve-81-udp.
import type { Namespace, NetworkPolicy, Pod, PolicyInput } from '../../../../src/node/policy/index.ts';
import { planNetworkPolicy } from '../../../../src/node/policy/plan.ts';
import { verdict, type Flow } from './verdict.ts';

export const nodes = {
  n1: { ip: '10.250.0.11', podCIDR: '10.244.1.0/24' },
  n2: { ip: '10.250.0.12', podCIDR: '10.244.2.0/24' },
};

const ports = [
  { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
  { name: 'serve-81-tcp', containerPort: 81, protocol: 'TCP' },
  { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' },
  { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' },
];

export function pod(
  key: string,
  node: 'n1' | 'n2',
  ip: string,
  extra: Partial<Pod['spec']> & { labels?: Record<string, string> } = {},
): Pod {
  const [namespace = '', name = ''] = key.split('/');
  const { labels, ...spec } = extra;
  return {
    metadata: { namespace, name, labels: labels ?? { pod: name } },
    spec: { nodeName: node, containers: [{ name: 'c', ports }], ...spec },
    status: { phase: 'Running', podIP: ip.split(',')[0], podIPs: ip.split(',').map((i) => ({ ip: i })) },
  };
}

/** Pod key → address; x/* on n1 (10.244.1.x), y/* and z/* on n2 (10.244.2.x). */
export const addresses: Record<string, string> = {
  'x/a': '10.244.1.2',
  'x/b': '10.244.1.3',
  'x/c': '10.244.1.4',
  'y/a': '10.244.2.2',
  'y/b': '10.244.2.3',
  'y/c': '10.244.2.4',
  'z/a': '10.244.2.5',
  'z/b': '10.244.2.6',
  'z/c': '10.244.2.7',
};

export function basePods(): Pod[] {
  return Object.entries(addresses).map(([key, ip]) => pod(key, key.startsWith('x/') ? 'n1' : 'n2', ip));
}

export const baseNamespaces: Namespace[] = ['x', 'y', 'z'].map((n) => ({
  metadata: { name: n, labels: { ns: n } },
}));

export function policy(key: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  const [namespace = '', name = ''] = key.split('/');
  return { metadata: { namespace, name }, spec };
}

export function input(
  node: 'n1' | 'n2',
  networkPolicies: NetworkPolicy[],
  pods = basePods(),
  namespaces = baseNamespaces,
): PolicyInput {
  return {
    nodeName: node,
    nodeIPs: [nodes[node].ip],
    podCIDRs: [nodes[node].podCIDR],
    pods,
    namespaces,
    networkPolicies,
  };
}

/**
 * Whether a new connection passes in the whole cluster: the source's node and the destination's
 * node each apply their plan (once when they are the same node). `from`/`to` are pod keys or addresses.
 */
export function reaches(
  networkPolicies: NetworkPolicy[],
  from: string,
  to: string,
  flow: Omit<Flow, 'from' | 'to'> = {},
  pods = basePods(),
  namespaces = baseNamespaces,
): boolean {
  const address = (k: string): string => addresses[k] ?? k;
  const f: Flow = { ...flow, from: address(from), to: address(to) };
  const nodeOf = (ip: string): ('n1' | 'n2')[] =>
    /^(10\.244\.1\.|fd00:1:)/.test(ip) ? ['n1'] : /^(10\.244\.2\.|fd00:2:)/.test(ip) ? ['n2'] : [];
  const involved = new Set([...nodeOf(f.from), ...nodeOf(f.to)]);
  return [...involved].every(
    (n) => verdict(planNetworkPolicy(input(n, networkPolicies, pods, namespaces)), f) === 'accept',
  );
}
