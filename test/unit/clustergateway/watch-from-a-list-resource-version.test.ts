import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterRuntime } from '../../../src/cluster/runtime.ts';
import { serveClusterGatewayAPI } from '../../../src/clustergateway/api.ts';
import type { AccessRecord } from '../../../src/observe/access-log.ts';
import type { ClientExchange } from '../../../src/proxy/exchange.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';

// kubectl get -w and informers list, then watch from the list's resourceVersion: the watch must
// start where the list ended (only what changed since, DELETED included), not repeat everything.
const CG = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways';

function cluster(name: string): ClusterRuntime {
  return {
    name,
    config: {
      endpoints: [{ name: `${name}-0`, url: `https://${name}.example:6443` }],
      material: { ca: 'ca' },
    },
    upstream: { healthyCount: 1 },
  } as unknown as ClusterRuntime;
}

/** Serves one request; `body` collects what was written, `close` ends a watch. */
function serve(clusters: () => readonly ClusterRuntime[], uri: string) {
  let body = '';
  let onClose = () => {};
  const x = {
    headers: {},
    respond() {},
    write(b: Buffer) {
      body += b.toString();
      return true;
    },
    end(b?: string) {
      body += b ?? '';
    },
    onClose(f: () => void) {
      onClose = f;
    },
  } as unknown as ClientExchange;
  const record = { method: 'GET', uri, info: parseRequestInfo('GET', uri) } as AccessRecord;
  serveClusterGatewayAPI(clusters, x, record);
  return { body: () => body, close: () => onClose() };
}

const events = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const e = JSON.parse(l) as { type: string; object: { metadata: { name: string } } };
      return `${e.type} ${e.object.metadata.name}`;
    });

test('a watch from a list’s resourceVersion sends only the changes since that list', async () => {
  let set = [cluster('a'), cluster('b')];
  const list = JSON.parse(serve(() => set, CG).body()) as { metadata: { resourceVersion: string } };
  set = [cluster('b'), cluster('c')];
  const w = serve(() => set, `${CG}?watch=true&resourceVersion=${list.metadata.resourceVersion}`);
  try {
    assert.deepEqual(events(w.body()).sort(), ['ADDED c', 'DELETED a']);
  } finally {
    w.close();
  }
});

test('the same set lists with the same resourceVersion; a watch from it starts quiet', () => {
  const set = [cluster('a')];
  const rv1 = (JSON.parse(serve(() => set, CG).body()) as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
  const rv2 = (JSON.parse(serve(() => set, CG).body()) as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
  assert.equal(rv1, rv2);
  const w = serve(() => set, `${CG}?watch=1&resourceVersion=${rv1}`);
  try {
    assert.equal(w.body(), '');
  } finally {
    w.close();
  }
});

test('a watch without (or from an unknown) resourceVersion starts with ADDED for every cluster', () => {
  const set = [cluster('a'), cluster('b')];
  for (const q of ['watch=1', 'watch=1&resourceVersion=0', 'watch=1&resourceVersion=nope']) {
    const w = serve(() => set, `${CG}?${q}`);
    try {
      assert.deepEqual(events(w.body()), ['ADDED a', 'ADDED b'], q);
    } finally {
      w.close();
    }
  }
});
