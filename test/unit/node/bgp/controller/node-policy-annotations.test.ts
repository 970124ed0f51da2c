import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoutingConfigError } from '../../../../../src/node/bgp/controller/errors.ts';
import { nodePolicy, POLICY_ANNOTATIONS } from '../../../../../src/node/bgp/controller/node-policy.ts';
import { routingIntent, speakerKey } from '../../../../../src/node/bgp/controller/index.ts';
import { routingOptions } from '../../../../../src/node/bgp/controller/options.ts';

const { communities, importReject, prependAs, prependCount } = POLICY_ANNOTATIONS;

test("kube-router's policy annotations: communities in every spelling, import rejects, prepends", () => {
  assert.deepEqual(nodePolicy('a', undefined), { communities: [], importReject: [] });
  const p = nodePolicy('a', {
    [communities]: '65010:200, 4294967041 ,no-export,NO-ADVERTISE,65010:200,,',
    [importReject]: '10.0.0.0/16, 192.168.1.7/24',
    [prependAs]: '65000',
    [prependCount]: '3',
  });
  assert.deepEqual(p.communities, [65010 * 65536 + 200, 0xffffff01, 0xffffff02], 'sorted, each once');
  assert.deepEqual(p.importReject, ['10.0.0.0/16', '192.168.1.0/24']);
  assert.deepEqual(p.prepend, { asn: 65000, count: 3 });
});

test('an annotation that cannot be read names itself', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ [communities]: '65010:70000' }, /node\.bgp\.communities: "65010:70000" is not a community/],
    [{ [communities]: 'no-such' }, /node\.bgp\.communities/],
    [{ [importReject]: '10.0.0.0' }, /customimportreject: "10\.0\.0\.0" is not a CIDR/],
    [{ [importReject]: '10.0.0.300/24' }, /customimportreject/],
    [{ [prependAs]: '65000' }, /path-prepend\.repeat-n: path prepending needs both/],
    [{ [prependCount]: '2' }, /path-prepend\.as: path prepending needs both/],
    [{ [prependAs]: '65000', [prependCount]: '0' }, /repeat-n: "0" is not a count 1\.\.64/],
    [{ [prependAs]: 'x', [prependCount]: '2' }, /path-prepend\.as/],
  ];
  for (const [a, re] of cases)
    assert.throws(
      () => nodePolicy('a', a),
      (e: unknown) => e instanceof RoutingConfigError && re.test(e.message),
      JSON.stringify(a),
    );
});

const node = (name: string, ip: string, annotations?: Record<string, string>) => ({
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});

test('the import rejects join the intent, and a policy change is a change of the speaker', () => {
  const options = routingOptions({ peerRouters: [], serviceCIDRs: ['10.96.0.0/16'] });
  const plain = routingIntent([node('a', '10.0.0.1')], 'a', options).intent!;
  const tagged = routingIntent(
    [node('a', '10.0.0.1', { [communities]: '65010:1', [importReject]: '203.0.113.0/24' })],
    'a',
    options,
  ).intent!;
  assert.ok(tagged.rejectImport.includes('203.0.113.0/24'));
  assert.deepEqual(tagged.policy.communities, [65010 * 65536 + 1]);
  assert.notEqual(speakerKey(tagged), speakerKey(plain));
  assert.throws(
    () => routingIntent([node('a', '10.0.0.1', { [prependAs]: '1' })], 'a', options),
    RoutingConfigError,
    "a bad annotation on the node's own Node throws (the controller keeps the intent in force)",
  );
});

test("peer routers' ports and local addresses: kube-router's peer.ports and peer.localips, --peer-router-ports", async () => {
  const { parsePeerRouters } = await import('../../../../../src/node/bgp/controller/options.ts');
  assert.deepEqual(parsePeerRouters('10.0.0.1,10.0.0.2', '65000', undefined, undefined, '1790'), [
    { address: '10.0.0.1', asn: 65000, port: 1790 },
    { address: '10.0.0.2', asn: 65000, port: 1790 },
  ]);
  const node = {
    metadata: {
      name: 'a',
      annotations: {
        'kube-router.io/peer.ips': '192.0.2.1,192.0.2.2',
        'kube-router.io/peer.asns': '65000',
        'kube-router.io/peer.ports': '179,1179',
        'kube-router.io/peer.localips': ',10.0.0.9',
      },
    },
    spec: { podCIDR: '10.244.0.0/24' },
    status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
  };
  const intent = routingIntent([node], 'a', routingOptions({})).intent!;
  assert.deepEqual(intent.neighbors, [
    { peerAddress: '192.0.2.1', peerAs: 65000, port: 179 },
    { peerAddress: '192.0.2.2', peerAs: 65000, port: 1179, localAddress: '10.0.0.9' },
  ]);
  const bad: [Record<string, string>, RegExp][] = [
    [
      { 'kube-router.io/peer.ports': '179,179,179' },
      /peer\.ips has 2 address\(es\) but Node a kube-router\.io\/peer\.ports 3/,
    ],
    [{ 'kube-router.io/peer.ports': '70000' }, /peer\.ports: "70000" is not a port/],
    [
      { 'kube-router.io/peer.localips': 'fd00::1,' },
      /peer\.localips: "fd00::1" is not an address of 192\.0\.2\.1's family/,
    ],
    [{ 'kube-router.io/peer.localips': '10.0.0.9' }, /peer\.localips 1 item/],
  ];
  for (const [extra, re] of bad)
    assert.throws(
      () =>
        routingIntent(
          [
            {
              ...node,
              metadata: { ...node.metadata, annotations: { ...node.metadata.annotations, ...extra } },
            },
          ],
          'a',
          routingOptions({}),
        ),
      (e: unknown) => e instanceof RoutingConfigError && re.test(e.message),
      JSON.stringify(extra),
    );
});
