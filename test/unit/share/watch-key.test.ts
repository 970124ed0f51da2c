import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestInfo } from '../../../src/request/request-info.ts';
import { shareableAccept, shareableWatch, type ShareableWatch } from '../../../src/share/watch-key.ts';

const key = (uri: string, accept?: string) =>
  shareableWatch('c1', parseRequestInfo('GET', uri), uri, accept === undefined ? {} : { accept });

const shared = (uri: string, accept?: string): ShareableWatch => {
  const w = key(uri, accept);
  assert.equal(typeof w, 'object', `${uri} should be shareable, got ${String(w)}`);
  return w as ShareableWatch;
};

test('identical watches share a key whatever their resourceVersion, timeout and bookmarks', () => {
  const a = shared('/api/v1/namespaces/ns/pods?watch=true&resourceVersion=10&labelSelector=app%3Dweb');
  const b = shared(
    '/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb&watch=1&resourceVersion=20&timeoutSeconds=30&allowWatchBookmarks=true',
  );
  assert.equal(a.key, b.key);
  assert.equal(a.rv, 10n);
  assert.equal(b.rv, 20n);
  assert.equal(a.bookmarks, false);
  assert.equal(b.bookmarks, true);
  assert.equal(a.timeoutSeconds, null);
  assert.equal(b.timeoutSeconds, 30);
  assert.equal(a.labelSelector, 'app=web');
});

test('cluster, namespace, resource and selectors each make a different key', () => {
  const base = shared('/api/v1/namespaces/ns/pods?watch=true&resourceVersion=1').key;
  const other = [
    shared('/api/v1/namespaces/other/pods?watch=true&resourceVersion=1').key,
    shared('/api/v1/pods?watch=true&resourceVersion=1').key,
    shared('/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion=1').key,
    shared('/api/v1/namespaces/ns/pods?watch=true&resourceVersion=1&labelSelector=a').key,
    shared('/api/v1/namespaces/ns/pods?watch=true&resourceVersion=1&fieldSelector=spec.nodeName%3Dn1').key,
  ];
  const uri = '/api/v1/namespaces/ns/pods?watch=true&resourceVersion=1';
  const c2 = shareableWatch('c2', parseRequestInfo('GET', uri), uri, {}) as ShareableWatch;
  other.push(c2.key);
  assert.equal(new Set([base, ...other]).size, other.length + 1);
});

test('watches a stream alone cannot serve exactly are forwarded, with the reason', () => {
  const cases: [string, string | undefined, string][] = [
    ['/api/v1/namespaces/ns/pods?watch=true', undefined, 'resource_version'],
    ['/api/v1/namespaces/ns/pods?watch=true&resourceVersion=0', undefined, 'resource_version'],
    ['/api/v1/namespaces/ns/pods?watch=true&resourceVersion=abc', undefined, 'resource_version'],
    [
      '/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5&sendInitialEvents=true',
      undefined,
      'initial_events',
    ],
    [
      '/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5&sendInitialEvents=false',
      undefined,
      'initial_events',
    ],
    // Watch-lists other than client-go's consistent form: the apiserver answers them.
    [
      '/api/v1/namespaces/ns/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan',
      undefined,
      'initial_events',
    ],
    [
      '/api/v1/namespaces/ns/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=5',
      undefined,
      'initial_events',
    ],
    [
      '/api/v1/namespaces/ns/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=Exact',
      undefined,
      'initial_events',
    ],
    [
      '/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5&resourceVersionMatch=NotOlderThan',
      undefined,
      'initial_events',
    ],
    ['/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5&pretty=true', undefined, 'parameter'],
    ['/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5&resourceVersion=6', undefined, 'parameter'],
    ['/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5&timeoutSeconds=-1', undefined, 'timeout'],
    ['/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5', 'application/cbor-seq', 'encoding'],
    ['/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5', 'application/cbor;q=0.9', 'encoding'],
    [
      '/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5',
      'application/json;as=Table;v=v1;g=meta.k8s.io',
      'encoding',
    ],
    ['/api/v1/namespaces/ns/pods', undefined, 'not_watch'],
    ['/api/v1/namespaces/ns/pods/p1?watch=true&resourceVersion=5', undefined, 'not_watch'],
  ];
  for (const [uri, accept, reason] of cases) assert.equal(key(uri, accept), reason, uri);
});

test('JSON, protobuf and CBOR watches share apart; other media ranges are not shared', () => {
  assert.equal(shareableAccept(undefined), 'application/json');
  assert.equal(shareableAccept('application/json, */*'), 'application/json, */*');
  assert.equal(shareableAccept('*/*'), '*/*');
  assert.equal(
    shareableAccept('application/vnd.kubernetes.protobuf, application/json'),
    'application/vnd.kubernetes.protobuf, application/json',
  );
  assert.equal(shareableAccept('application/json;stream=watch'), null);
  assert.equal(shareableAccept('application/CBOR'), 'application/cbor');
  assert.equal(shareableAccept('application/cbor-seq'), null, "the apiserver's 406");
  const uri = '/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5';
  const json = shared(uri, 'application/json');
  const pb = shared(uri, 'application/vnd.kubernetes.protobuf, application/json');
  assert.notEqual(json.key, pb.key);
  assert.equal(pb.accept, 'application/vnd.kubernetes.protobuf, application/json');
  const cbor = shared(uri, 'application/cbor');
  assert.equal(cbor.accept, 'application/cbor');
  assert.notEqual(cbor.key, json.key);
  assert.notEqual(cbor.key, pb.key);
  assert.notEqual(cbor.key, shared(uri, 'application/cbor, application/json').key);
});

test("client-go's watch-list (sendInitialEvents, NotOlderThan, no resourceVersion) shares under its own key", () => {
  const q = 'watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan';
  const a = shared(`/api/v1/namespaces/ns/pods?${q}&resourceVersion=&timeoutSeconds=300`);
  const b = shared(`/api/v1/namespaces/ns/pods?${q}`);
  assert.equal(a.key, b.key, 'resourceVersion= and none are the same');
  assert.equal(a.watchList, true);
  assert.equal(a.rv, -1n, 'every event is for the client');
  assert.equal(a.timeoutSeconds, 300);
  const plain = shared('/api/v1/namespaces/ns/pods?watch=1&resourceVersion=5&allowWatchBookmarks=true');
  assert.equal(plain.watchList, false);
  assert.notEqual(a.key, plain.key, 'never the same stream as a watch from a resourceVersion');
});
