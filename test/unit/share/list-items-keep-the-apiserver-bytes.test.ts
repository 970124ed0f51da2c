import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elements, JSONLayoutError, members, withoutTypeMeta } from '../../../src/share/json-items.ts';
import { cachedList } from '../../../src/share/list-key.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';

test('a list splits into members and items, each the exact bytes the apiserver wrote', () => {
  const items = [
    '{"metadata":{"name":"a","labels":{"10":"x","9":"y"}},"data":{"k":"v,\\"}]"}}',
    '{"metadata":{"name":"b"},"binaryData":{},"n":[1,[2,{}]]}',
  ];
  const body = Buffer.from(
    `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"42"},"items":[${items.join(',')}]}\n`,
  );
  const m = members(body);
  assert.deepEqual(
    m.map((x) => x.name),
    ['kind', 'apiVersion', 'metadata', 'items'],
  );
  const got = elements(body, m[3].start, m[3].end).map((b) => b.toString());
  assert.deepEqual(
    got,
    items,
    'keys stay in their order, escapes untouched (JSON.parse would reorder "9" before "10")',
  );
  const empty = Buffer.from('{"items":[ ]}');
  const e = members(empty)[0];
  assert.deepEqual(elements(empty, e.start, e.end), []);
});

test("a watch event's object loses kind and apiVersion to become a typed list's item", () => {
  const obj = Buffer.from(
    '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"},"data":{"kind":"x"}}',
  );
  assert.equal(withoutTypeMeta(obj).toString(), '{"metadata":{"name":"a"},"data":{"kind":"x"}}');
  assert.throws(() => withoutTypeMeta(Buffer.from('{"metadata":{}}')), JSONLayoutError);
  assert.throws(() => members(Buffer.from('{"a":1')), JSONLayoutError);
});

const list = (uri: string, accept?: string) =>
  cachedList('c', parseRequestInfo('GET', uri), uri, accept === undefined ? {} : { accept });

test('lists with resourceVersion=0 in JSON or protobuf are cached, limit ignored; everything else is forwarded with a reason', () => {
  const ok = list(
    '/api/v1/namespaces/ns/configmaps?resourceVersion=0&limit=500&labelSelector=a%3Db',
    'application/json, */*',
  );
  assert.equal(typeof ok, 'object');
  if (typeof ok === 'object') {
    assert.equal(ok.key, 'c\u0000/api/v1/namespaces/ns/configmaps');
    assert.equal(ok.labelSelector, 'a=b');
  }
  assert.equal(typeof list('/apis/apps/v1/deployments?resourceVersion=0'), 'object');
  // Not older than a version (a reflector's relist), unpaged: served once the cache has reached it.
  for (const [q, rv] of [
    ['resourceVersion=12', 12n],
    ['resourceVersion=12&limit=0', 12n],
    ['resourceVersion=12&resourceVersionMatch=NotOlderThan', 12n],
    ['resourceVersion=0&resourceVersionMatch=NotOlderThan&limit=5', 0n],
  ] as const) {
    const l = list(`/api/v1/configmaps?${q}`);
    assert.equal(typeof l === 'object' ? l.minRV : l, rv, q);
  }
  // client-go's protobuf clients: a cache of their own, which lists and watches as they do.
  for (const accept of ['application/vnd.kubernetes.protobuf', 'application/vnd.kubernetes.protobuf, */*']) {
    const pb = list('/apis/discovery.k8s.io/v1/endpointslices?resourceVersion=0', accept);
    assert.equal(typeof pb, 'object');
    if (typeof pb === 'object') {
      assert.equal(pb.accept, accept);
      assert.equal(pb.key, `c\u0000/apis/discovery.k8s.io/v1/endpointslices\u0000${accept}`);
    }
  }
  const forwarded: [string, string | undefined, string][] = [
    ['/api/v1/configmaps', undefined, 'resource_version'],
    ['/api/v1/configmaps?resourceVersion=', undefined, 'resource_version'],
    ['/api/v1/configmaps?resourceVersion=00', undefined, 'resource_version'],
    ['/api/v1/configmaps?resourceVersion=12&limit=500', undefined, 'resource_version'],
    [
      '/api/v1/configmaps?resourceVersion=12&resourceVersionMatch=NotOlderThan&limit=5',
      undefined,
      'resource_version',
    ],
    ['/api/v1/configmaps?resourceVersion=12&resourceVersionMatch=Exact', undefined, 'resource_version'],
    ['/api/v1/configmaps?resourceVersion=0&resourceVersionMatch=Exact', undefined, 'resource_version'],
    ['/api/v1/configmaps?resourceVersionMatch=NotOlderThan', undefined, 'resource_version'],
    ['/api/v1/configmaps?resourceVersion=abc', undefined, 'resource_version'],
    ['/api/v1/configmaps?resourceVersion=99999999999999999999999', undefined, 'resource_version'],
    [
      '/api/v1/configmaps?resourceVersion=0',
      'application/json, application/vnd.kubernetes.protobuf',
      'encoding',
    ],
    ['/api/v1/configmaps?resourceVersion=0', 'application/vnd.kubernetes.protobuf;as=Table', 'table'],
    [
      '/api/v1/configmaps?resourceVersion=0',
      'application/vnd.kubernetes.protobuf, application/cbor',
      'encoding',
    ],
    ['/api/v1/configmaps?resourceVersion=0', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'table'],
    ['/api/v1/configmaps?resourceVersion=0', 'application/cbor', 'encoding'],
    ['/api/v1/configmaps?resourceVersion=0&continue=x', undefined, 'parameter'],
    ['/api/v1/configmaps?resourceVersion=0&limit=-1', undefined, 'parameter'],
    ['/api/v1/configmaps?resourceVersion=0&pretty=true', undefined, 'parameter'],
    ['/api/v1/configmaps?resourceVersion=0&resourceVersion=0', undefined, 'parameter'],
    ['/api/v1/configmaps?resourceVersion=0&labelSelector=a%3E1', undefined, 'label_selector'],
    ['/api/v1/configmaps?resourceVersion=0&labelSelector=a%3D%3D%3Db', undefined, 'label_selector'],
    ['/api/v1/pods?resourceVersion=0&fieldSelector=spec.nodeName%3Dn', undefined, 'field_selector'],
    ['/api/v1/namespaces/ns/configmaps/a?resourceVersion=0', undefined, 'not_list'],
    ['/api/v1/namespaces/ns/pods/a/log', undefined, 'not_list'],
    ['/api/v1/configmaps?watch=true&resourceVersion=0', undefined, 'not_list'],
  ];
  for (const [uri, accept, why] of forwarded) assert.equal(list(uri, accept), why, `${uri} ${accept ?? ''}`);
});
