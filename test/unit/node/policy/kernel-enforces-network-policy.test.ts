// NetworkPolicy compiled for two lab nodes and applied with `nft -f -`, probed with real TCP and
// UDP traffic between pod network namespaces: on one bridge (via br_netfilter) and across nodes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { runCommand } from '../../../../src/dev/lab/index.ts';
import type { Namespace, NetworkPolicy } from '../../../../src/node/policy/index.ts';
import { PolicyLab } from './lab/policy-lab.ts';

const root = process.getuid?.() === 0;
const skip = !root && 'needs root (network namespaces)';
const PREFIX = `kgnp${process.pid.toString(36)}`;
let lab: PolicyLab;

const namespaces: Namespace[] = ['x', 'y', 'z'].map((n) => ({ metadata: { name: n, labels: { ns: n } } }));

function policy(key: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  const [namespace = '', name = ''] = key.split('/');
  return { metadata: { namespace, name }, spec };
}

const denyIngressA = policy('x/deny-a', {
  podSelector: { matchLabels: { pod: 'a' } },
  policyTypes: ['Ingress'],
});

before(async () => {
  if (!root) return;
  await runCommand('ip', ['netns', 'list']);
  lab = await PolicyLab.create(PREFIX);
  // x/a, x/b, y/a on node-1; z/a and y/b on node-2; x/a and x/b dual-stack.
  await lab.enableIPv6('node-1', 'fd00:1::/64');
  await lab.addPod('x/a', 'node-1', '10.244.1.2', { pod: 'a' }, 'fd00:1::2');
  await lab.addPod('x/b', 'node-1', '10.244.1.3', { pod: 'b' }, 'fd00:1::3');
  await lab.addPod('y/a', 'node-1', '10.244.1.4', { pod: 'a' });
  await lab.addPod('z/a', 'node-2', '10.244.2.2', { pod: 'a' });
  await lab.addPod('y/b', 'node-2', '10.244.2.3', { pod: 'b' });
});

after(async () => {
  if (root) await lab.destroy();
});

test(
  'without any policy every pod reaches every other, TCP and UDP, same node and across',
  { skip },
  async () => {
    await lab.apply([], namespaces);
    for (const [from, to] of [
      ['x/a', 'x/b'],
      ['x/b', 'x/a'],
      ['x/a', 'z/a'],
      ['z/a', 'y/a'],
    ] as const) {
      assert.equal(await lab.reach(from, to, 'tcp', 80), true, `${from} -> ${to} tcp`);
      assert.equal(await lab.reach(from, to, 'udp', 81), true, `${from} -> ${to} udp`);
    }
  },
);

test(
  'an ingress deny-all policy refuses new connections to the pods it selects, and only to them',
  { skip },
  async () => {
    await lab.apply([denyIngressA], namespaces);
    assert.equal(await lab.reach('x/b', 'x/a'), false, 'same node');
    assert.equal(await lab.reach('z/a', 'x/a'), false, 'other node');
    assert.equal(await lab.reach('x/b', 'x/a', 'udp', 80), false, 'udp');
    assert.equal(await lab.reach('x/a', 'x/b'), true, 'x/b is not selected');
    assert.equal(await lab.reach('x/a', 'z/a'), true, 'x/a egress is not isolated');
    assert.equal(await lab.reach('x/b', 'y/a'), true, 'the policy selects pods of its own namespace only');
  },
);

test('replies of an allowed connection pass although the client is ingress-isolated', { skip }, async () => {
  await lab.apply([denyIngressA], namespaces);
  // x/a's own connections get their answers back (conntrack), TCP and UDP.
  assert.equal(await lab.reach('x/a', 'x/b', 'tcp'), true);
  assert.equal(await lab.reach('x/a', 'x/b', 'udp', 81), true);
  assert.equal(await lab.reach('x/a', 'z/a', 'udp', 81), true);
});

test('a podSelector peer lets in only the selected pods of the policy namespace', { skip }, async () => {
  await lab.apply(
    [
      policy('x/allow-b', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
      }),
    ],
    namespaces,
  );
  assert.equal(await lab.reach('x/b', 'x/a'), true);
  assert.equal(await lab.reach('y/b', 'x/a'), false, 'a pod b of another namespace');
  assert.equal(await lab.reach('y/a', 'x/a'), false);
});

test(
  'a namespaceSelector peer lets in pods of the matching namespaces, AND-ed with a podSelector',
  { skip },
  async () => {
    await lab.apply(
      [
        policy('x/allow-ns-y', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y'] }] },
                  podSelector: { matchLabels: { pod: 'b' } },
                },
              ],
            },
          ],
        }),
      ],
      namespaces,
    );
    assert.equal(await lab.reach('y/b', 'x/a'), true, 'y/b: namespace y and pod b');
    assert.equal(await lab.reach('y/a', 'x/a'), false, 'y/a: namespace y but not pod b');
    assert.equal(await lab.reach('x/b', 'x/a'), false, 'x/b: pod b but namespace x');
  },
);

test('an ipBlock with except lets in its CIDR but not the excepted addresses', { skip }, async () => {
  await lab.apply(
    [
      policy('x/allow-cidr', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          { from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.2/32', '10.244.1.4/32'] } }] },
        ],
      }),
    ],
    namespaces,
  );
  assert.equal(await lab.reach('x/b', 'x/a'), true);
  assert.equal(await lab.reach('y/b', 'x/a'), true);
  assert.equal(await lab.reach('z/a', 'x/a'), false, 'excepted, other node');
  assert.equal(await lab.reach('y/a', 'x/a'), false, 'excepted, same node');
});

test(
  'a named port opens the port the destination pod gives that name, for its protocol only',
  { skip },
  async () => {
    await lab.apply(
      [
        policy('x/named', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ ports: [{ port: 'serve-81-tcp' }, { port: 'serve-80-udp', protocol: 'UDP' }] }],
        }),
      ],
      namespaces,
    );
    assert.equal(await lab.reach('x/b', 'x/a', 'tcp', 81), true);
    assert.equal(await lab.reach('x/b', 'x/a', 'tcp', 80), false);
    assert.equal(await lab.reach('z/a', 'x/a', 'udp', 80), true);
    assert.equal(await lab.reach('z/a', 'x/a', 'udp', 81), false);
  },
);

test('port with endPort opens the range, ends included', { skip }, async () => {
  await lab.apply(
    [
      policy('x/range', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ ports: [{ port: 81, endPort: 82, protocol: 'TCP' }] }],
      }),
    ],
    namespaces,
  );
  assert.equal(await lab.reach('x/b', 'x/a', 'tcp', 80), false);
  assert.equal(await lab.reach('x/b', 'x/a', 'tcp', 81), true);
  assert.equal(await lab.reach('x/b', 'x/a', 'tcp', 82), true);
  assert.equal(await lab.reach('x/b', 'x/a', 'tcp', 83), false);
  assert.equal(await lab.reach('x/b', 'x/a', 'udp', 81), false, 'the range is TCP only');
});

test(
  'egress deny-all stops new traffic out of a pod; an egress rule then allows one peer and port',
  { skip },
  async () => {
    const denyEgress = policy('x/deny-egress', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
    });
    await lab.apply([denyEgress], namespaces);
    assert.equal(await lab.reach('x/a', 'x/b'), false, 'same node');
    assert.equal(await lab.reach('x/a', 'z/a', 'udp', 80), false, 'other node, udp');
    assert.equal(await lab.reach('x/b', 'x/a'), true, 'ingress to x/a is not isolated; replies pass');
    const allowToZ = policy('x/allow-to-z', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { ns: 'z' } } }],
          ports: [{ port: 80, protocol: 'UDP' }, { port: 'serve-81-tcp' }],
        },
      ],
    });
    await lab.apply([denyEgress, allowToZ], namespaces);
    assert.equal(await lab.reach('x/a', 'z/a', 'udp', 80), true);
    assert.equal(await lab.reach('x/a', 'z/a', 'tcp', 81), true, 'named port resolved on the peer');
    assert.equal(await lab.reach('x/a', 'z/a', 'tcp', 80), false);
    assert.equal(await lab.reach('x/a', 'x/b', 'udp', 80), false);
  },
);

test(
  'a same-node pair passes only when the egress of one and the ingress of the other both allow',
  { skip },
  async () => {
    const aOut = policy('x/a-out', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    });
    const bIn = policy('x/b-in', {
      podSelector: { matchLabels: { pod: 'b' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }] }],
    });
    await lab.apply([aOut, bIn], namespaces);
    // x/a's egress allows x/b, but x/b's ingress does not allow x/a: the egress verdict must not end the walk.
    assert.equal(await lab.reach('x/a', 'x/b'), false, 'a -> b: egress allows, ingress refuses');
    assert.equal(await lab.reach('x/b', 'x/a'), true, 'b -> a: nothing isolates');
    const bInFromA = policy('x/b-in', {
      podSelector: { matchLabels: { pod: 'b' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }] }],
    });
    await lab.apply([aOut, bInFromA], namespaces);
    assert.equal(await lab.reach('x/a', 'x/b'), true, 'both allow');
    assert.equal(await lab.reach('x/a', 'y/a'), false, 'egress refuses');
  },
);

test(
  'a pod the compiler does not know yet is closed both ways until it is programmed',
  { skip },
  async () => {
    await lab.addPod('x/c', 'node-1', '10.244.1.9', { pod: 'c' });
    const known = [...lab.pods.values()].filter((p) => p.key !== 'x/c').map((p) => p.object);
    await lab.apply([], namespaces, known);
    assert.equal(await lab.reach('x/c', 'x/b', 'tcp', 80, 500), false, 'out, same node');
    assert.equal(await lab.reach('x/b', 'x/c', 'tcp', 80, 500), false, 'in, same node');
    assert.equal(await lab.reach('z/a', 'x/c', 'udp', 80, 500), false, 'in, other node');
    await lab.apply([], namespaces);
    assert.equal(await lab.reach('x/c', 'x/b'), true);
    assert.equal(await lab.reach('z/a', 'x/c', 'udp', 80), true);
  },
);

test('the node itself reaches an ingress-isolated pod (kubelet probes)', { skip }, async () => {
  await lab.apply([denyIngressA], namespaces);
  const node = lab.lab.node('node-1');
  const script =
    "require('net').connect(80,'10.244.1.2').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),1000)";
  await runCommand('ip', ['netns', 'exec', node.netns, process.execPath, '-e', script]);
});

test('a connection established before a deny keeps flowing; a new one is refused', { skip }, async () => {
  await lab.apply([], namespaces);
  assert.equal(await lab.open('x/b', 'x/a', 'kept'), true);
  assert.equal(await lab.echo('x/b', 'kept'), true);
  await lab.apply([denyIngressA], namespaces);
  assert.equal(await lab.reach('x/b', 'x/a'), false, 'new connection');
  // Same as kube-router and kube-proxy era policy controllers: conntrack lets the established flow on.
  assert.equal(await lab.echo('x/b', 'kept'), true, 'established connection');
});

test(
  'without bridge-nf-call-iptables same-bridge traffic bypasses policy (the sysctl is per namespace)',
  { skip },
  async () => {
    await lab.apply([denyIngressA], namespaces);
    const node = lab.lab.node('node-1');
    const rootBefore = (await runCommand('cat', ['/proc/sys/net/bridge/bridge-nf-call-iptables'])).trim();
    const set = (value: string): Promise<string> =>
      runCommand('ip', [
        'netns',
        'exec',
        node.netns,
        'sysctl',
        '-qw',
        `net.bridge.bridge-nf-call-iptables=${value}`,
      ]);
    await set('0');
    try {
      assert.equal(
        (await runCommand('cat', ['/proc/sys/net/bridge/bridge-nf-call-iptables'])).trim(),
        rootBefore,
      );
      assert.equal(await lab.reach('x/b', 'x/a'), true, 'bridged, bypassing the inet forward hook');
      assert.equal(await lab.reach('z/a', 'x/a'), false, 'routed traffic is still filtered');
    } finally {
      await set('1');
    }
    assert.equal(await lab.reach('x/b', 'x/a'), false);
  },
);

test(
  'IPv6: the same policy refuses and allows over IPv6 on one bridge, neighbour discovery included',
  { skip },
  async () => {
    await lab.apply([], namespaces);
    assert.equal(await lab.reach6('x/b', 'x/a'), true);
    await lab.apply([denyIngressA], namespaces);
    assert.equal(await lab.reach6('x/b', 'x/a'), false, 'tcp');
    assert.equal(await lab.reach6('x/b', 'x/a', 'udp', 81), false, 'udp');
    assert.equal(await lab.reach6('x/a', 'x/b', 'udp', 81), true, 'x/a out, with the reply');
    const allowB = policy('x/allow-b', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 'serve-81-tcp' }] },
      ],
    });
    await lab.apply([allowB], namespaces);
    assert.equal(await lab.reach6('x/b', 'x/a', 'tcp', 81), true, 'x/b by its IPv6 address, named port');
    assert.equal(await lab.reach6('x/b', 'x/a', 'tcp', 80), false);
    // Flushing the neighbour caches makes the next probe solicit again, through the policy.
    for (const pod of ['x-a', 'x-b'])
      await runCommand('ip', ['-n', `${PREFIX}-${pod}`, '-6', 'neigh', 'flush', 'all']);
    assert.equal(await lab.reach6('x/b', 'x/a', 'tcp', 81), true, 'after neighbour discovery again');
    assert.equal(await lab.reach6('x/a', 'x/b', 'tcp', 80), true, 'x/b is not isolated');
  },
);

test(
  'egress isolation also covers traffic from a pod to its own node (the input hook)',
  { skip },
  async () => {
    const node = lab.lab.node('node-1');
    const script =
      "require('net').createServer((s)=>s.end()).listen(9090,'0.0.0.0',()=>console.log('listening'))";
    const server = spawn('ip', ['netns', 'exec', node.netns, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise((resolve) => server.stdout.once('data', resolve));
      const gateway = { ...lab.pod('x/b'), ip: node.gateway ?? '' };
      lab.pods.set('node-1/gateway', gateway);
      await lab.apply(
        [policy('x/deny-egress', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'] })],
        namespaces,
      );
      assert.equal(await lab.reach('x/b', 'node-1/gateway', 'tcp', 9090), true);
      assert.equal(await lab.reach('x/a', 'node-1/gateway', 'tcp', 9090), false);
    } finally {
      lab.pods.delete('node-1/gateway');
      server.kill();
    }
  },
);

test(
  'Service traffic is judged by the endpoint pod address (DNAT comes first) and refused at once',
  { skip },
  async () => {
    await lab.addServiceAddress('node-1', '10.96.0.10', 'x/a');
    const allowB = policy('x/allow-b', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    });
    await lab.apply([allowB], namespaces);
    assert.equal(await lab.reach('x/b', '10.96.0.10', 'tcp'), true);
    assert.equal(await lab.reach('x/b', '10.96.0.10', 'udp'), true);
    for (const protocol of ['tcp', 'udp'] as const) {
      const started = Date.now();
      assert.equal(await lab.reach('y/a', '10.96.0.10', protocol, 80, 3000), false, protocol);
      // The ICMP error is translated back to the Service address, so the client fails at once.
      assert.ok(Date.now() - started < 1500, `${protocol} refused in ${Date.now() - started} ms`);
    }
    assert.equal(
      await lab.reach('x/a', '10.96.0.10', 'tcp'),
      false,
      'x/a through its own Service: x/a is not b',
    );
  },
);
