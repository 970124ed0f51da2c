import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NODE_ASN_ANNOTATION,
  PEER_ANNOTATIONS,
  RR_ANNOTATIONS,
  parseClusterId,
  parseAsn,
  parsePeerRouters,
  routingIntent,
  routingOptions,
  sessionKey,
  RoutingConfigError,
  type RoutingNode,
} from '../../../../../src/node/bgp/controller/index.ts';

function node(
  name: string,
  ip: string | undefined,
  cidrs: string[],
  annotations?: Record<string, string>,
): RoutingNode {
  return {
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { podCIDR: cidrs[0], podCIDRs: cidrs },
    status: {
      addresses: ip
        ? [
            { type: 'InternalIP', address: ip },
            { type: 'Hostname', address: name },
          ]
        : [],
    },
  };
}

const three = [
  node('a', '10.250.0.10', ['10.244.0.0/24']),
  node('b', '10.250.0.11', ['10.244.1.0/24']),
  node('c', '10.250.0.12', ['10.244.2.0/24']),
];
const options = routingOptions({ serviceCIDRs: ['10.96.0.0/16'] });

describe('routing intent', () => {
  it('meshes every other node in the cluster ASN and announces its own pod CIDRs', () => {
    const { intent, problems } = routingIntent(three, 'b', options);
    assert.deepEqual(problems, []);
    assert.equal(intent?.asn, 64512);
    assert.equal(intent?.routerId, '10.250.0.11');
    assert.deepEqual(intent?.neighbors, [
      { peerAddress: '10.250.0.10', peerAs: 64512, node: 'a' },
      { peerAddress: '10.250.0.12', peerAs: 64512, node: 'c' },
    ]);
    assert.deepEqual(intent?.announce, ['10.244.1.0/24']);
    assert.deepEqual(intent?.families, ['ipv4-unicast']);
  });

  it('never imports service ranges nor its own pod CIDRs', () => {
    assert.deepEqual(routingIntent(three, 'a', options).intent?.rejectImport, [
      '10.96.0.0/16',
      '10.244.0.0/24',
    ]);
  });

  it('waits while its Node or InternalIP is missing', () => {
    assert.match(routingIntent(three, 'z', options).waiting ?? '', /Node z not found/);
    const r = routingIntent([node('a', undefined, ['10.244.0.0/24'])], 'a', options);
    assert.equal(r.intent, undefined);
    assert.match(r.waiting ?? '', /no IPv4 InternalIP/);
  });

  it('peers only with nodes of its own kube-router.io/node.asn', () => {
    const nodes = [
      node('a', '10.250.0.10', ['10.244.0.0/24'], { [NODE_ASN_ANNOTATION]: '65001' }),
      node('b', '10.250.0.11', ['10.244.1.0/24'], { [NODE_ASN_ANNOTATION]: '65001' }),
      node('c', '10.250.0.12', ['10.244.2.0/24']),
    ];
    const a = routingIntent(nodes, 'a', options).intent;
    assert.equal(a?.asn, 65001);
    assert.deepEqual(
      a?.neighbors.map((n) => n.node),
      ['b'],
    );
    assert.deepEqual(routingIntent(nodes, 'c', options).intent?.neighbors, []);
  });

  it('skips a peer node with a bad ASN annotation and says why', () => {
    const nodes = [
      ...three.slice(0, 2),
      node('c', '10.250.0.12', ['10.244.2.0/24'], { [NODE_ASN_ANNOTATION]: 'x' }),
    ];
    const r = routingIntent(nodes, 'a', options);
    assert.deepEqual(
      r.intent?.neighbors.map((n) => n.node),
      ['b'],
    );
    assert.match(r.problems[0].message, /Node c kube-router.io\/node.asn/);
    assert.deepEqual(r.problems[0].object, { kind: 'Node', namespace: '', name: 'c' });
  });

  it('keeps a peer node with a bad ASN annotation as it was peered before', () => {
    const before = routingIntent(three, 'a', options).intent!;
    const typo = [
      ...three.slice(0, 2),
      node('c', '10.250.0.12', ['10.244.2.0/24'], { [NODE_ASN_ANNOTATION]: 'x' }),
    ];
    const r = routingIntent(typo, 'a', options, before);
    assert.equal(r.problems.length, 1);
    assert.equal(sessionKey(r.intent!), sessionKey(before), 'no rebuild: every session stays');
  });

  it('throws for its own bad ASN annotation', () => {
    const nodes = [node('a', '10.250.0.10', [], { [NODE_ASN_ANNOTATION]: '0' })];
    assert.throws(() => routingIntent(nodes, 'a', options), { code: 'ERR_BGP_BAD_ASN' });
  });

  it('adds the global peer routers, with their own ASNs', () => {
    const o = routingOptions({ peerRouters: parsePeerRouters('10.250.0.1', '65000') });
    assert.deepEqual(routingIntent(three, 'a', o).intent?.neighbors.at(0), {
      peerAddress: '10.250.0.1',
      peerAs: 65000,
    });
  });

  it("adds the node's own kube-router.io/peer.* routers before the global ones, with MD5 keys", () => {
    const annotated = [
      node('a', '10.250.0.10', ['10.244.0.0/24'], {
        [PEER_ANNOTATIONS.ips]: '10.250.0.2,10.250.0.3',
        [PEER_ANNOTATIONS.asns]: '65010,65011',
        [PEER_ANNOTATIONS.passwords]: `${Buffer.from('s3cret').toString('base64')},`,
      }),
      three[1],
    ];
    const o = routingOptions({ peerRouters: parsePeerRouters('10.250.0.2', '65000') });
    assert.deepEqual(routingIntent(annotated, 'a', o).intent?.neighbors, [
      { peerAddress: '10.250.0.11', peerAs: 64512, node: 'b' },
      { peerAddress: '10.250.0.2', peerAs: 65010, md5Key: 's3cret' },
      { peerAddress: '10.250.0.3', peerAs: 65011 },
    ]);
  });

  it('names the annotation when its own peer annotations do not pair up', () => {
    const bad = [
      node('a', '10.250.0.10', [], {
        [PEER_ANNOTATIONS.ips]: '10.0.0.1,10.0.0.2',
        [PEER_ANNOTATIONS.asns]: '1,2,3',
      }),
    ];
    assert.throws(() => routingIntent(bad, 'a', options), {
      code: 'ERR_BGP_PEER_ROUTERS_MISMATCH',
      message: /Node a kube-router.io\/peer.ips has 2 address/,
    });
  });

  it('carries IPv6 when any node has an IPv6 pod CIDR, with its IPv6 InternalIP as next hop', () => {
    const a: RoutingNode = {
      metadata: { name: 'a' },
      spec: { podCIDRs: ['10.244.0.0/24', 'fd00:244::/64'] },
      status: {
        addresses: [
          { type: 'InternalIP', address: '10.250.0.10' },
          { type: 'InternalIP', address: 'fd00:250::10' },
        ],
      },
    };
    const i = routingIntent([a, three[1]], 'a', options).intent;
    assert.deepEqual(i?.families, ['ipv4-unicast', 'ipv6-unicast']);
    assert.equal(i?.nodeIPv6, 'fd00:250::10');
    assert.deepEqual(i?.announce, ['10.244.0.0/24', 'fd00:244::/64']);
  });

  it('keeps the session key when only another node heartbeats or its own pod CIDR is unchanged', () => {
    const k1 = sessionKey(routingIntent(three, 'a', options).intent!);
    const touched = three.map((n) => ({ ...n, metadata: { ...n.metadata, annotations: { other: '1' } } }));
    assert.equal(sessionKey(routingIntent(touched, 'a', options).intent!), k1);
    assert.notEqual(sessionKey(routingIntent(three.slice(0, 2), 'a', options).intent!), k1);
  });
});

describe('route reflector roles', () => {
  const rr = [
    node('a', '10.250.0.10', ['10.244.0.0/24'], { [RR_ANNOTATIONS.server]: '42' }),
    node('b', '10.250.0.11', ['10.244.1.0/24'], { [RR_ANNOTATIONS.client]: '42' }),
    node('c', '10.250.0.12', ['10.244.2.0/24'], { [RR_ANNOTATIONS.client]: '42' }),
    node('d', '10.250.0.13', ['10.244.3.0/24']),
  ];

  it('makes the rr.server node a reflector whose clients are the rr.client nodes', () => {
    const a = routingIntent(rr, 'a', options).intent;
    assert.equal(a?.clusterId, '0.0.0.42');
    assert.deepEqual(a?.neighbors, [
      { peerAddress: '10.250.0.11', peerAs: 64512, node: 'b', routeReflectorClient: true },
      { peerAddress: '10.250.0.12', peerAs: 64512, node: 'c', routeReflectorClient: true },
      { peerAddress: '10.250.0.13', peerAs: 64512, node: 'd' },
    ]);
  });

  it('peers a client only with the servers, and a plain node with every node but the clients', () => {
    const b = routingIntent(rr, 'b', options).intent;
    assert.equal(b?.clusterId, undefined);
    assert.deepEqual(
      b?.neighbors.map((n) => [n.node, n.routeReflectorClient]),
      [['a', undefined]],
    );
    assert.deepEqual(
      routingIntent(rr, 'd', options).intent?.neighbors.map((n) => n.node),
      ['a'],
    );
  });

  it('still peers a client with the global peer routers', () => {
    const o = routingOptions({ peerRouters: parsePeerRouters('10.250.0.1', '65000') });
    assert.deepEqual(
      routingIntent(rr, 'c', o).intent?.neighbors.map((n) => n.peerAddress),
      ['10.250.0.1', '10.250.0.10'],
    );
  });

  it('takes a cluster id as a 32-bit number or an IPv4 address, and names a bad one', () => {
    assert.equal(parseClusterId('10.0.0.1', 'x'), '10.0.0.1');
    assert.equal(parseClusterId('4294967295', 'x'), '255.255.255.255');
    assert.equal(parseClusterId('65536', 'x'), '0.1.0.0');
    const bad = [node('a', '10.250.0.10', [], { [RR_ANNOTATIONS.server]: 'blue' })];
    assert.throws(() => routingIntent(bad, 'a', options), {
      code: 'ERR_BGP_BAD_CLUSTER_ID',
      message: /Node a kube-router.io\/rr.server/,
    });
  });

  it('keeps a peer whose rr.server is not a cluster id as it was, and names its Node', () => {
    const before = routingIntent(rr, 'a', options).intent!;
    const wrong = rr.map((n) =>
      n.metadata.name === 'b'
        ? { ...n, metadata: { name: 'b', annotations: { [RR_ANNOTATIONS.server]: 'blue' } } }
        : n,
    );
    const r = routingIntent(wrong, 'a', options, before);
    assert.equal(sessionKey(r.intent!), sessionKey(before));
    assert.deepEqual(
      r.problems.map((p) => [p.object.name, p.field]),
      [['b', `metadata.annotations[${RR_ANNOTATIONS.server}]`]],
    );
  });

  it('changes the session key when a role changes', () => {
    const k = sessionKey(routingIntent(rr, 'a', options).intent!);
    const plain = rr.map((n) => ({ ...n, metadata: { name: n.metadata.name } }));
    assert.notEqual(sessionKey(routingIntent(plain, 'a', options).intent!), k);
  });
});

describe('routing options', () => {
  it('parses ASNs as plain and asdot numbers and rejects AS_TRANS and zero', () => {
    assert.equal(parseAsn('64512', 'x'), 64512);
    assert.equal(parseAsn('1.10', 'x'), 65546);
    for (const bad of ['0', '23456', '4294967296', '-1', 'a', '1.65536'])
      assert.throws(() => parseAsn(bad, 'x'), RoutingConfigError);
  });

  it('pairs peer router IPs with one ASN each, or one ASN for all', () => {
    assert.deepEqual(parsePeerRouters('10.0.0.1,10.0.0.2', '65000,65001'), [
      { address: '10.0.0.1', asn: 65000 },
      { address: '10.0.0.2', asn: 65001 },
    ]);
    assert.deepEqual(
      parsePeerRouters('10.0.0.1, 10.0.0.2', '65000').map((p) => p.asn),
      [65000, 65000],
    );
    assert.deepEqual(parsePeerRouters(undefined, undefined), []);
    assert.throws(() => parsePeerRouters('10.0.0.1,10.0.0.2,10.0.0.3', '1,2'), {
      code: 'ERR_BGP_PEER_ROUTERS_MISMATCH',
    });
    assert.throws(() => parsePeerRouters('router', '65000'), { code: 'ERR_BGP_BAD_PEER_ADDRESS' });
  });

  it('defaults to the cluster ASN 64512 and checks the restart time fits 12 bits', () => {
    assert.equal(routingOptions().clusterAsn, 64512);
    assert.throws(() => routingOptions({ gracefulRestartSeconds: 5000 }), {
      code: 'ERR_BGP_BAD_GRACEFUL_RESTART',
    });
  });
});
