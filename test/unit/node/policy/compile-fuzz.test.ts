// No input crashes the compiler, and the same objects always give the same table.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addNetns, deleteNetns, runCommand } from '../../../../src/dev/lab/index.ts';
import { renderTables } from '../../../../src/node/nft/render.ts';
import type {
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
} from '../../../../src/node/policy/index.ts';
import { networkPolicyTables } from '../../../../src/node/policy/index.ts';

let seed = 12345;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};
const pick = <T>(items: readonly T[]): T => items[rnd(items.length)] as T;

const labelValues = ['a', 'b', 'c', ''];
const cidrs = [
  '10.244.1.0/24',
  '10.0.0.0/8',
  '10.244.1.3/32',
  '0.0.0.0/0',
  'fd00::/8',
  'fd00:1::5/128',
  'bogus',
  '10.0.0.0/40',
  '::/0',
];
const addrs = ['10.244.1.2', '10.244.1.3', '10.244.2.9', 'fd00:1::2', 'not-an-ip', ''];

function selector(): NetworkPolicyPeer['podSelector'] {
  return pick([
    undefined,
    {},
    { matchLabels: { pod: pick(labelValues) } },
    {
      matchExpressions: [
        {
          key: 'pod',
          operator: pick(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Bad']),
          values: pick([undefined, [], ['a']]),
        },
      ],
    },
  ]);
}

function peer(): NetworkPolicyPeer {
  const p: { podSelector?: unknown; namespaceSelector?: unknown; ipBlock?: unknown } = {};
  if (rnd(2)) p.podSelector = selector();
  if (rnd(2)) p.namespaceSelector = selector();
  if (rnd(3) === 0)
    p.ipBlock = { cidr: pick(cidrs), except: rnd(2) ? [pick(cidrs), pick(cidrs)] : undefined };
  return p as NetworkPolicyPeer;
}

function port(): NetworkPolicyPort {
  return {
    protocol: pick([undefined, 'TCP', 'UDP', 'SCTP', 'ICMP']),
    port: pick([undefined, 80, 0, 65535, 'serve-80-tcp', 'nope']),
    endPort: pick([undefined, 70, 90]),
  } as NetworkPolicyPort;
}

function randomPolicy(i: number): NetworkPolicy {
  const rules = (): { from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[] =>
    Array.from({ length: rnd(3) }, () => ({
      from: Array.from({ length: rnd(3) }, peer),
      to: Array.from({ length: rnd(3) }, peer),
      ports: Array.from({ length: rnd(3) }, port),
    }));
  return {
    metadata: { namespace: pick(['x', 'y']), name: `p${i}` },
    spec: {
      podSelector: selector(),
      policyTypes: pick([undefined, [], ['Ingress'], ['Egress'], ['Ingress', 'Egress']]),
      ingress: rules(),
      egress: rules(),
    },
  };
}

function randomPod(i: number): Pod {
  return {
    metadata: {
      namespace: pick(['x', 'y', 'z']),
      name: `pod${i}`,
      labels: rnd(2) ? { pod: pick(labelValues) } : {},
    },
    spec: {
      nodeName: pick(['n1', 'n2']),
      hostNetwork: rnd(5) === 0,
      containers: [{ ports: [{ name: 'serve-80-tcp', containerPort: pick([80, 8080]) }] }],
    },
    status: {
      phase: pick(['Running', 'Pending', 'Succeeded']),
      podIP: pick(addrs),
      podIPs: rnd(2) ? [{ ip: pick(addrs) }, { ip: pick(addrs) }] : undefined,
    },
  } as Pod;
}

function randomInput(): Parameters<typeof networkPolicyTables>[0] {
  return {
    nodeName: 'n1',
    nodeIPs: [pick(addrs)],
    podCIDRs: [pick(cidrs)],
    pods: Array.from({ length: rnd(8) }, (_, i) => randomPod(i)),
    namespaces: [{ metadata: { name: 'x', labels: { ns: 'x' } } }],
    networkPolicies: Array.from({ length: rnd(4) }, (_, i) => randomPolicy(i)),
  };
}

const root = process.getuid?.() === 0;
const netns = `kgnpf${process.pid.toString(36)}-nft`;
before(async () => {
  if (root) await addNetns(netns);
});
after(async () => {
  if (root) await deleteNetns(netns);
});

test('nft accepts the table compiled from random objects', { skip: !root && 'needs root' }, async () => {
  for (let round = 0; round < 30; round++) {
    const script = renderTables(networkPolicyTables(randomInput()).tables);
    await runCommand('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], script);
  }
});

test('random objects never crash the compiler and compile the same way twice', () => {
  for (let round = 0; round < 300; round++) {
    const input = randomInput();
    const first = networkPolicyTables(input);
    assert.deepEqual(networkPolicyTables(input), first);
    for (const problem of first.problems) assert.ok(problem.field.startsWith('spec.'), problem.field);
  }
});

test(
  'the longest names Kubernetes allows still give nft names it accepts',
  { skip: !root && 'needs root' },
  async () => {
    const namespace = 'n'.repeat(63);
    const name = `${'p'.repeat(120)}.${'q'.repeat(132)}`;
    const pods: Pod[] = [
      {
        metadata: { namespace, name: 'a'.repeat(253), labels: { pod: 'a' } },
        spec: { nodeName: 'n1', containers: [{ ports: [{ name: 'web', containerPort: 80 }] }] },
        status: { podIP: '10.244.1.2' },
      },
    ];
    const policies: NetworkPolicy[] = [
      {
        metadata: { namespace, name },
        spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 'web' }] }] },
      },
    ];
    const input = {
      nodeName: 'n1',
      nodeIPs: [],
      podCIDRs: ['10.244.1.0/24'],
      pods,
      namespaces: [],
      networkPolicies: policies,
    };
    const script = renderTables(networkPolicyTables(input).tables);
    await runCommand('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], script);
  },
);
