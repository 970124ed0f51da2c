import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterRuntime } from '../../../src/cluster/runtime.ts';
import { serveClusterGatewayAPI } from '../../../src/clustergateway/api.ts';
import type { AccessRecord } from '../../../src/observe/access-log.ts';
import type { ClientExchange } from '../../../src/proxy/exchange.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';

// kubectl get asks for a meta.k8s.io/v1 Table and prints the server's columns: cluster-gateway's
// Name, Provider, Credential-Type, Endpoint-Type and Healthy. Without that Accept, objects as before.
const CG = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways';
const KUBECTL_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

function cluster(name: string, healthy: boolean, token: boolean): ClusterRuntime {
  return {
    name,
    config: {
      endpoints: [{ name: `${name}-0`, url: `https://${name}.example:6443` }],
      material: { ca: 'ca', token: token ? 't' : undefined },
    },
    upstream: { healthyCount: healthy ? 1 : 0 },
  } as unknown as ClusterRuntime;
}

function serve(clusters: readonly ClusterRuntime[], uri: string, accept?: string) {
  let body = '';
  let onClose = () => {};
  const x = {
    headers: accept === undefined ? {} : { accept },
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
  serveClusterGatewayAPI(() => clusters, x, record);
  return { body: () => body, close: () => onClose() };
}

interface Table {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion?: string };
  columnDefinitions: { name: string; priority: number }[];
  rows: { cells: unknown[]; object?: { kind: string; metadata: { name: string } } }[];
}

const set = [cluster('a', true, true), cluster('b', false, false)];

test('a list asked for as a Table has cluster-gateway’s columns and one row per cluster', () => {
  const t = JSON.parse(serve(set, CG, KUBECTL_ACCEPT).body()) as Table;
  assert.equal(t.kind, 'Table');
  assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(
    t.columnDefinitions.map((c) => [c.name, c.priority]),
    [['Name', 0], ['Provider', 0], ['Credential-Type', 0], ['Endpoint-Type', 0], ['Healthy', 0]],
  ); // prettier-ignore
  assert.deepEqual(
    t.rows.map((r) => r.cells),
    [
      ['a', '', 'ServiceAccountToken', 'Const', 'true'],
      ['b', '', 'X509Certificate', 'Const', 'false'],
    ],
  );
  // The default includeObject=Metadata: each row carries the object's metadata (kubectl reads
  // names and labels from it); the list's resourceVersion is the one a watch starts from.
  assert.deepEqual(
    t.rows.map((r) => [r.object?.kind, r.object?.metadata.name]),
    [['PartialObjectMetadata', 'a'], ['PartialObjectMetadata', 'b']],
  ); // prettier-ignore
  const plain = JSON.parse(serve(set, CG).body()) as { metadata: { resourceVersion: string } };
  assert.equal(t.metadata.resourceVersion, plain.metadata.resourceVersion);
});

test('a get asked for as a Table is a one-row Table; includeObject=Object carries the object', () => {
  const t = JSON.parse(serve(set, `${CG}/b?includeObject=Object`, KUBECTL_ACCEPT).body()) as Table;
  assert.equal(t.kind, 'Table');
  assert.deepEqual(t.rows[0].cells, ['b', '', 'X509Certificate', 'Const', 'false']);
  assert.equal(t.rows[0].object?.kind, 'ClusterGateway');
  const none = JSON.parse(serve(set, `${CG}/b?includeObject=None`, KUBECTL_ACCEPT).body()) as Table;
  assert.equal(none.rows[0].object, undefined);
});

test('without a Table in Accept (or with only v1beta1), objects as before', () => {
  assert.equal((JSON.parse(serve(set, `${CG}/a`).body()) as { kind: string }).kind, 'ClusterGateway');
  const beta = 'application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
  assert.equal((JSON.parse(serve(set, CG, beta).body()) as { kind: string }).kind, 'ClusterGatewayList');
});

test('a watch asked for as Tables sends each event’s object as a one-row Table', () => {
  const w = serve(set, `${CG}?watch=1`, KUBECTL_ACCEPT);
  try {
    const events = w
      .body()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; object: Table });
    assert.deepEqual(
      events.map((e) => [e.type, e.object.kind, e.object.rows[0].cells[0]]),
      [['ADDED', 'Table', 'a'], ['ADDED', 'Table', 'b']],
    ); // prettier-ignore
  } finally {
    w.close();
  }
});
