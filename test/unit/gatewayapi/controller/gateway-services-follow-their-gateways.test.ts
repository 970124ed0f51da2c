import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import {
  GATEWAY_NAME_LABEL,
  GatewayServices,
  gatewayObjects,
  type CachedObject,
  type Generated,
} from '../../../../src/gatewayapi/controller/gateway-services.ts';
import { KubeAPIError } from '../../../../src/kube/client.ts';

const silent = pino({ level: 'silent' });

// Records the writes (pure logic: the conformance test GatewayInfrastructureMetadata checks them
// against a real API server); `refuse` answers one path with an error status.
class RecordingAPI {
  calls: { method: string; path: string; body: unknown }[] = [];
  refuse = new Map<string, number>();
  json<T>(method: string, path: string, body?: unknown): Promise<T> {
    this.calls.push({ method, path, body });
    const status = this.refuse.get(`${method} ${path}`);
    if (status !== undefined) return Promise.reject(new KubeAPIError(method, path, status, {}));
    return Promise.resolve({} as T);
  }
}

function gateway(name: string, spec: Record<string, unknown>): CachedObject {
  return { metadata: { name, namespace: 'infra', uid: `uid-${name}` }, spec };
}

const LISTENERS = [
  { name: 'http', port: 80, protocol: 'HTTP' },
  { name: 'https', port: 443, protocol: 'HTTPS' },
  { name: 'https-2', port: 443, protocol: 'HTTPS', hostname: 'b.example.com' },
  { name: 'dns', port: 53, protocol: 'UDP' },
];

/** What the server would hold after creating `g` (the server's own fields aside). */
function stored(g: Generated): CachedObject {
  return structuredClone(g.manifest) as unknown as CachedObject;
}

test('each Gateway gets a Service with one port per listener port and an EndpointSlice at its addresses, carrying spec.infrastructure', () => {
  const [svc, slice] = gatewayObjects([
    {
      object: gateway('gw', {
        listeners: LISTENERS,
        infrastructure: { labels: { key2: 'value2' }, annotations: { key1: 'value1' } },
      }),
      addresses: ['10.250.2.1'],
    },
  ]);
  assert.equal(svc.collection, '/api/v1/namespaces/infra/services');
  assert.equal(svc.manifest.metadata.name, 'gw-kubegate');
  assert.deepEqual(svc.manifest.metadata.annotations, { key1: 'value1' });
  assert.equal(svc.manifest.metadata.labels.key2, 'value2');
  assert.equal(svc.manifest.metadata.labels[GATEWAY_NAME_LABEL], 'gw');
  assert.deepEqual(svc.manifest.metadata.ownerReferences, [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      name: 'gw',
      uid: 'uid-gw',
      controller: true,
    },
  ]);
  assert.deepEqual(svc.manifest.spec, {
    type: 'ClusterIP',
    ports: [
      { name: 'udp-53', port: 53, protocol: 'UDP', targetPort: 53 },
      { name: 'tcp-80', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'tcp-443', port: 443, protocol: 'TCP', targetPort: 443 },
    ],
  });
  assert.equal(slice.collection, '/apis/discovery.k8s.io/v1/namespaces/infra/endpointslices');
  assert.equal(slice.manifest.metadata.labels['kubernetes.io/service-name'], 'gw-kubegate');
  assert.equal(slice.manifest.metadata.labels.key2, 'value2');
  assert.deepEqual(slice.manifest.endpoints, [{ addresses: ['10.250.2.1'], conditions: { ready: true } }]);
  assert.deepEqual(
    slice.manifest.ports,
    [53, 80, 443].map((port) => ({
      name: `${port === 53 ? 'udp' : 'tcp'}-${port}`,
      port,
      protocol: port === 53 ? 'UDP' : 'TCP',
    })),
  );
});

test('a Gateway whose name makes no valid Service name or label value gets nothing', () => {
  const long = 'g'.repeat(60);
  assert.deepEqual(gatewayObjects([{ object: gateway(long, { listeners: LISTENERS }), addresses: [] }]), []);
  assert.deepEqual(
    gatewayObjects([{ object: gateway('1.example', { listeners: LISTENERS }), addresses: [] }]),
    [],
  );
});

test('missing objects are created, unchanged ones left alone, changed ones patched with removed labels set to null', async () => {
  const api = new RecordingAPI();
  const services = new GatewayServices(api, silent);
  const before = gatewayObjects([
    {
      object: gateway('gw', { listeners: LISTENERS, infrastructure: { labels: { old: 'x' } } }),
      addresses: [],
    },
  ]);
  await services.reconcile(before, [], []);
  assert.deepEqual(
    api.calls.map((c) => `${c.method} ${c.path}`),
    [
      'POST /api/v1/namespaces/infra/services',
      'POST /apis/discovery.k8s.io/v1/namespaces/infra/endpointslices',
    ],
  );

  api.calls = [];
  await services.reconcile(before, [stored(before[0])], [stored(before[1])]);
  assert.equal(api.calls.length, 0, 'nothing changed, nothing written');

  const after = gatewayObjects([
    {
      object: gateway('gw', { listeners: LISTENERS, infrastructure: { labels: { new: 'y' } } }),
      addresses: ['10.250.2.7'],
    },
  ]);
  await services.reconcile(after, [stored(before[0])], [stored(before[1])]);
  assert.deepEqual(
    api.calls.map((c) => `${c.method} ${c.path}`),
    [
      'PATCH /api/v1/namespaces/infra/services/gw-kubegate',
      'PATCH /apis/discovery.k8s.io/v1/namespaces/infra/endpointslices/gw-kubegate',
    ],
  );
  const patch = api.calls[0].body as { metadata: { labels: Record<string, string | null> } };
  assert.equal(patch.metadata.labels.old, null);
  assert.equal(patch.metadata.labels.new, 'y');
  assert.deepEqual((api.calls[1].body as { endpoints: unknown }).endpoints, [
    { addresses: ['10.250.2.7'], conditions: { ready: true } },
  ]);
});

test('objects kubegate did not make are never touched; its own are deleted once their Gateway is gone', async () => {
  const api = new RecordingAPI();
  const services = new GatewayServices(api, silent);
  const [svc] = gatewayObjects([{ object: gateway('gw', { listeners: LISTENERS }), addresses: [] }]);
  const users: CachedObject = {
    metadata: { name: 'gw-kubegate', namespace: 'infra', labels: { app: 'mine' } },
  };
  await services.reconcile([svc], [users], []);
  assert.equal(api.calls.length, 0, "a user's Service of the same name is left alone");

  const [orphan, orphanSlice] = gatewayObjects([
    { object: gateway('gone', { listeners: LISTENERS }), addresses: [] },
  ]);
  const [other] = gatewayObjects([{ object: gateway('elsewhere', { listeners: LISTENERS }), addresses: [] }]);
  await services.reconcile(
    [],
    [stored(orphan), stored(other), users],
    [stored(orphanSlice)],
    new Set(['infra/elsewhere']),
  );
  assert.deepEqual(api.calls.map((c) => `${c.method} ${c.path}`).sort(), [
    'DELETE /api/v1/namespaces/infra/services/gone-kubegate',
    'DELETE /apis/discovery.k8s.io/v1/namespaces/infra/endpointslices/gone-kubegate',
  ]);
});

test('a create answered 409 (the cache had not seen the object yet) is no failure: the pass goes on', async () => {
  const api = new RecordingAPI();
  api.refuse.set('POST /api/v1/namespaces/infra/services', 409);
  const services = new GatewayServices(api, silent);
  const objects = gatewayObjects([{ object: gateway('gw', { listeners: LISTENERS }), addresses: [] }]);
  await services.reconcile(objects, [], []);
  assert.deepEqual(
    api.calls.map((c) => c.method),
    ['POST', 'POST'],
  );
});
