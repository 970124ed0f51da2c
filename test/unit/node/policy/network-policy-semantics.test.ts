// Kubernetes NetworkPolicy semantics, checked on the compiled plan of each node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkPolicyTables } from '../../../../src/node/policy/index.ts';
import { planNetworkPolicy } from '../../../../src/node/policy/plan.ts';
import { basePods, input, pod, policy, reaches } from './fixture.ts';
import { verdict } from './verdict.ts';

const all = Object.keys({ 'x/a': 1, 'x/b': 1, 'y/a': 1, 'z/c': 1 });

test('without policies every pod reaches every pod', () => {
  for (const from of all) for (const to of all) assert.equal(reaches([], from, to), true, `${from} -> ${to}`);
});

test('a policy isolates only the pods its podSelector selects in its own namespace', () => {
  const p = [policy('x/deny-a', { podSelector: { matchLabels: { pod: 'a' } } })];
  assert.equal(reaches(p, 'x/b', 'x/a'), false);
  assert.equal(reaches(p, 'y/a', 'x/a'), false);
  assert.equal(reaches(p, 'x/a', 'y/a'), true, 'ingress isolation says nothing about egress');
  assert.equal(reaches(p, 'x/a', 'x/b'), true);
  assert.equal(reaches(p, 'x/b', 'y/a'), true, 'y/a is not in the policy namespace');
});

test('an empty podSelector selects every pod of the namespace', () => {
  const p = [policy('x/deny-all', { podSelector: {} })];
  for (const to of ['x/a', 'x/b', 'x/c']) assert.equal(reaches(p, 'y/a', to), false);
  assert.equal(reaches(p, 'x/a', 'y/a'), true);
});

test('policyTypes default to Ingress, plus Egress when egress rules are present', () => {
  const egressOnlyRules = [
    policy('x/p', { podSelector: { matchLabels: { pod: 'a' } }, egress: [{ to: [{ podSelector: {} }] }] }),
  ];
  assert.equal(reaches(egressOnlyRules, 'x/b', 'x/a'), false, 'ingress isolated with no ingress rule');
  assert.equal(reaches(egressOnlyRules, 'x/a', 'x/b'), true, 'egress to the namespace allowed');
  assert.equal(reaches(egressOnlyRules, 'x/a', 'y/a'), false, 'egress elsewhere refused');
  const explicit = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'nobody' } } }] }],
    }),
  ];
  assert.equal(reaches(explicit, 'x/b', 'x/a'), true, 'ingress rules of an Egress-only policy are ignored');
  assert.equal(reaches(explicit, 'x/a', 'x/b'), false);
});

test('policies selecting the same pod allow the union of their rules', () => {
  const p = [
    policy('x/from-b', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    }),
    policy('x/from-c', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }] }],
    }),
  ];
  assert.equal(reaches(p, 'x/b', 'x/a'), true);
  assert.equal(reaches(p, 'x/c', 'x/a'), true);
  assert.equal(reaches(p, 'y/b', 'x/a'), false);
});

test('matchExpressions: In, NotIn (true for pods without the key), Exists, DoesNotExist', () => {
  const pods = basePods().map((p) =>
    p.metadata.name === 'c' ? { ...p, metadata: { ...p.metadata, labels: {} } } : p,
  );
  const from = (expr: { key: string; operator: string; values?: string[] }) => [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [expr] } }] }],
    }),
  ];
  const allowed = (p: ReturnType<typeof from>): string[] =>
    ['x/b', 'x/c', 'y/b', 'z/c'].filter((k) => reaches(p, k, 'x/a', {}, pods));
  assert.deepEqual(allowed(from({ key: 'pod', operator: 'In', values: ['b'] })), ['x/b', 'y/b']);
  assert.deepEqual(allowed(from({ key: 'pod', operator: 'NotIn', values: ['b'] })), ['x/c', 'z/c']);
  assert.deepEqual(allowed(from({ key: 'pod', operator: 'Exists' })), ['x/b', 'y/b']);
  assert.deepEqual(allowed(from({ key: 'pod', operator: 'DoesNotExist' })), ['x/c', 'z/c']);
});

test('namespaceSelector and podSelector in one peer must both match; in two peers either does', () => {
  const and = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } },
          ],
        },
      ],
    }),
  ];
  assert.equal(reaches(and, 'y/b', 'x/a'), true);
  assert.equal(reaches(and, 'y/a', 'x/a'), false);
  assert.equal(reaches(and, 'x/b', 'x/a'), false);
  const or = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { ns: 'y' } } },
            { podSelector: { matchLabels: { pod: 'b' } } },
          ],
        },
      ],
    }),
  ];
  assert.equal(reaches(or, 'y/a', 'x/a'), true, 'any pod of y');
  assert.equal(reaches(or, 'x/b', 'x/a'), true, 'pod b of the policy namespace');
  assert.equal(reaches(or, 'z/b', 'x/a'), false, 'pod b elsewhere');
});

test('an empty namespaceSelector means every namespace; the well-known name label is always there', () => {
  const everywhere = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ namespaceSelector: {} }] }],
    }),
  ];
  assert.equal(reaches(everywhere, 'z/c', 'x/a'), true);
  const byName = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' } } }] }],
    }),
  ];
  assert.equal(reaches(byName, 'z/c', 'x/a'), true);
  assert.equal(reaches(byName, 'y/c', 'x/a'), false);
});

test('ipBlock except removes addresses from its own CIDR only, not from another block of the rule', () => {
  const p = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        {
          from: [
            { ipBlock: { cidr: '10.244.2.0/24', except: ['10.244.2.0/30'] } },
            { ipBlock: { cidr: '10.244.2.2/32' } },
          ],
        },
      ],
    }),
  ];
  assert.equal(reaches(p, 'y/a', 'x/a'), true, '10.244.2.2: excepted by one block, named by the other');
  assert.equal(reaches(p, 'y/b', 'x/a'), false, '10.244.2.3: excepted');
  assert.equal(reaches(p, 'z/c', 'x/a'), true, '10.244.2.7: outside the except');
  assert.equal(reaches(p, '192.168.1.1', 'x/a'), false);
});

test('an ipBlock of 0.0.0.0/0 lets in anything, pods and outside addresses', () => {
  const p = [policy('x/p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] })];
  assert.equal(reaches(p, '192.168.1.1', 'x/a'), true);
  assert.equal(reaches(p, 'y/a', 'x/b'), true);
});

test('ports: number, endPort range, protocol alone (every port of it), protocol defaulting to TCP', () => {
  const p = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        { ports: [{ port: 80 }, { port: 1000, endPort: 1002, protocol: 'TCP' }, { protocol: 'UDP' }] },
      ],
    }),
  ];
  assert.equal(reaches(p, 'y/a', 'x/a', { protocol: 'tcp', port: 80 }), true);
  assert.equal(reaches(p, 'y/a', 'x/a', { protocol: 'tcp', port: 81 }), false);
  assert.equal(reaches(p, 'y/a', 'x/a', { protocol: 'tcp', port: 1002 }), true);
  assert.equal(reaches(p, 'y/a', 'x/a', { protocol: 'tcp', port: 1003 }), false);
  assert.equal(reaches(p, 'y/a', 'x/a', { protocol: 'udp', port: 5353 }), true);
  assert.equal(
    reaches(p, 'y/a', 'x/a', { protocol: 'icmp', port: 0 }),
    false,
    'a rule with ports says nothing for ICMP',
  );
});

test('SCTP ports are reported and left out: the policy still isolates and allows nothing over TCP', () => {
  const p = [
    policy('x/sctp', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }],
    }),
  ];
  assert.equal(reaches(p, 'x/b', 'x/a', { protocol: 'tcp', port: 80 }), false);
  const { problems } = networkPolicyTables(input('n1', p));
  assert.deepEqual(
    problems.map((pr) => [pr.object.name, pr.field]),
    [['x/sctp'.split('/')[1], 'spec.ingress[0].ports[0].protocol']],
  );
  assert.match(problems[0]?.message ?? '', /SCTP is not supported by this kernel/);
});

test('an ingress named port resolves on each destination pod, which may number it differently', () => {
  const pods = basePods().map((p) =>
    p.metadata.namespace === 'x' && p.metadata.name === 'b'
      ? {
          ...p,
          spec: { ...p.spec, containers: [{ name: 'c', ports: [{ name: 'web', containerPort: 8080 }] }] },
        }
      : p.metadata.namespace === 'x' && p.metadata.name === 'a'
        ? {
            ...p,
            spec: { ...p.spec, containers: [{ name: 'c', ports: [{ name: 'web', containerPort: 80 }] }] },
          }
        : p,
  );
  const p = [policy('x/p', { podSelector: {}, ingress: [{ ports: [{ port: 'web' }] }] })];
  assert.equal(reaches(p, 'y/a', 'x/a', { port: 80 }, pods), true);
  assert.equal(reaches(p, 'y/a', 'x/a', { port: 8080 }, pods), false);
  assert.equal(reaches(p, 'y/a', 'x/b', { port: 8080 }, pods), true);
  assert.equal(reaches(p, 'y/a', 'x/b', { port: 80 }, pods), false);
  assert.equal(reaches(p, 'y/a', 'x/c', { port: 80 }, pods), false, 'x/c has no port named web');
  const udpName = [policy('x/p', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-80-udp' }] }] })];
  assert.equal(
    reaches(udpName, 'y/a', 'x/c', { protocol: 'udp', port: 80 }),
    false,
    'the name is matched with the protocol (TCP by default)',
  );
});

test('an egress named port resolves on the peer pods, also when the rule has no peers', () => {
  const p = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      egress: [{ ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }],
    }),
  ];
  assert.equal(reaches(p, 'x/a', 'z/c', { protocol: 'udp', port: 81 }), true);
  assert.equal(reaches(p, 'x/a', 'z/c', { protocol: 'udp', port: 80 }), false);
  assert.equal(
    reaches(p, 'x/a', '192.168.1.1', { protocol: 'udp', port: 81 }),
    false,
    'no pod there to name the port',
  );
});

test('egress isolation refuses new traffic out, but the pod still answers connections it is allowed to take', () => {
  const p = [policy('x/p', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'] })];
  assert.equal(reaches(p, 'x/a', 'x/b'), false);
  assert.equal(reaches(p, 'x/a', 'y/a'), false);
  assert.equal(reaches(p, 'x/b', 'x/a'), true);
});

test('same-node traffic passes the egress of the source and then the ingress of the destination', () => {
  const p = [
    policy('x/a-out', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{}] }),
    policy('x/b-in', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [] }),
  ];
  assert.equal(reaches(p, 'x/a', 'x/b'), false);
  assert.equal(reaches(p, 'x/a', 'x/c'), true);
});

test('host-network pods are neither enforced nor peers; finished pods and pods without an address are ignored', () => {
  const pods = [
    ...basePods(),
    pod('x/host', 'n1', '10.250.0.11', { hostNetwork: true, labels: { pod: 'a' } }),
    { ...pod('x/done', 'n1', '10.244.1.50'), status: { phase: 'Succeeded', podIP: '10.244.1.50' } },
    { ...pod('x/new', 'n1', '10.244.1.51'), status: { phase: 'Pending' } },
  ];
  const plan = planNetworkPolicy(input('n1', [policy('x/deny', { podSelector: {} })], pods));
  assert.deepEqual(plan.localPods.map((p) => p.name).sort(), ['a', 'b', 'c']);
  const allowFromA = [
    policy('y/p', {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'a' } } }] }],
    }),
  ];
  assert.equal(
    reaches(allowFromA, '10.250.0.11', 'y/b', {}, pods),
    false,
    'the host-network pod address is not a peer',
  );
  assert.equal(reaches(allowFromA, 'x/a', 'y/b', {}, pods), true);
});

test('an address of the node pod CIDR that no known pod has is closed both ways', () => {
  const plan = planNetworkPolicy(input('n1', []));
  assert.equal(verdict(plan, { from: '10.244.1.99', to: '10.244.2.2' }), 'closed');
  assert.equal(verdict(plan, { from: '10.244.2.2', to: '10.244.1.99' }), 'closed');
  assert.equal(verdict(plan, { from: '10.244.1.2', to: '10.244.1.3' }), 'accept');
});

test('the node own addresses reach its isolated pods', () => {
  const plan = planNetworkPolicy(input('n1', [policy('x/deny', { podSelector: {} })]));
  assert.equal(verdict(plan, { from: '10.250.0.11', to: '10.244.1.2' }), 'accept');
  assert.equal(
    verdict(plan, { from: '10.250.0.12', to: '10.244.1.2' }),
    'refuse',
    'another node is not this node',
  );
});

test('dual-stack: a pod is matched by its IPv6 address as by its IPv4 one', () => {
  const pods = basePods().map((p) =>
    p.metadata.name === 'a' || (p.metadata.namespace === 'x' && p.metadata.name === 'b')
      ? pod(
          `${p.metadata.namespace}/${p.metadata.name}`,
          p.spec?.nodeName as 'n1' | 'n2',
          `${p.status?.podIP},fd00:${p.status?.podIP?.split('.').slice(2).join(':')}::1`,
        )
      : p,
  );
  const p = [
    policy('x/p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { pod: 'b' } } },
            { ipBlock: { cidr: 'fd00:2::/32', except: ['fd00:2:5::/48'] } },
          ],
        },
      ],
    }),
  ];
  assert.equal(reaches(p, 'fd00:1:3::1', 'fd00:1:2::1', {}, pods), true, 'x/b by its IPv6 address');
  assert.equal(reaches(p, 'fd00:2:2::1', 'fd00:1:2::1', {}, pods), true, 'y/a in the IPv6 block');
  assert.equal(reaches(p, 'fd00:2:5::1', 'fd00:1:2::1', {}, pods), false, 'z/a excepted');
  const plan = planNetworkPolicy(input('n1', p, pods));
  assert.deepEqual(plan.families, [4, 6]);
});

test('a selector the API server would reject is reported and matches nothing', () => {
  const p = [
    policy('x/bad', { podSelector: { matchExpressions: [{ key: 'pod', operator: 'Near', values: ['a'] }] } }),
    policy('x/bad-peer', {
      podSelector: { matchLabels: { pod: 'b' } },
      ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In' }] } }] }],
    }),
    // Selects nothing on n1 (and its matchLabels fail first): still reported there.
    policy('y/bad-elsewhere', {
      podSelector: {
        matchLabels: { pod: 'none' },
        matchExpressions: [{ key: 'pod', operator: 'Exists', values: ['a'] }],
      },
    }),
  ];
  const { problems } = networkPolicyTables(input('n1', p));
  assert.deepEqual(
    problems.map((pr) => `${pr.object.namespace}/${pr.object.name} ${pr.field}`),
    ['x/bad spec.podSelector', 'x/bad-peer spec.ingress[0].from[0]', 'y/bad-elsewhere spec.podSelector'],
  );
  assert.equal(reaches(p, 'y/a', 'x/a'), true, 'the bad policy selects nothing');
  assert.equal(reaches(p, 'x/a', 'x/b'), false, 'the bad peer matches nothing; x/b stays isolated');
});
