import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ControllerMetrics } from '../../../../src/gatewayapi/controller/metrics.ts';
import { StatusWriter, type CachedObject } from '../../../../src/gatewayapi/controller/status-writer.ts';
import { KubeAPIError, type KubeClient } from '../../../../src/kube/client.ts';

// A stand-in for the API server's status subresource (pure logic; the e2e tests and the conformance
// suite exercise the real one): it stores what is patched, fills a default the way the API server
// fills CRD defaults, bumps the resourceVersion, and can answer 409.
class FakeStatusAPI {
  patches: {
    path: string;
    body: { metadata: { resourceVersion?: string }; status: Record<string, unknown> };
  }[] = [];
  rv = 10;
  conflict = false;
  json<T>(method: string, path: string, body: unknown): Promise<T> {
    assert.equal(method, 'PATCH');
    const b = body as FakeStatusAPI['patches'][number]['body'];
    this.patches.push({ path, body: b });
    if (this.conflict) return Promise.reject(new KubeAPIError(method, path, 409, { reason: 'Conflict' }));
    const status = structuredClone(b.status) as { addresses?: { type?: string; value: string }[] };
    for (const a of status.addresses ?? []) a.type ??= 'IPAddress';
    return Promise.resolve({ metadata: { name: 'g', resourceVersion: String(++this.rv) }, status } as T);
  }
}

const silent = pino({ level: 'silent' });
const condition = {
  type: 'Programmed',
  status: 'True',
  reason: 'Programmed',
  message: '',
  observedGeneration: 1,
};

function setup() {
  const api = new FakeStatusAPI();
  const writer = new StatusWriter(api as unknown as KubeClient, silent, new ControllerMetrics(undefined));
  return { api, writer };
}

test('a status is patched once; the same status again, even as defaulted by the server, is not', async () => {
  const { api, writer } = setup();
  const obj: CachedObject = { metadata: { name: 'g', namespace: 'ns', resourceVersion: '5' }, status: {} };
  const status = { addresses: [{ value: '10.0.0.1' }], conditions: [condition] };
  await writer.write([{ kind: 'gateways', object: obj, status, source: status }]);
  assert.equal(api.patches.length, 1);
  assert.equal(api.patches[0].path, '/apis/gateway.networking.k8s.io/v1/namespaces/ns/gateways/g/status');
  assert.equal(
    api.patches[0].body.metadata.resourceVersion,
    '5',
    'optimistic concurrency on the version read',
  );
  const stamped = api.patches[0].body.status.conditions as { lastTransitionTime: string }[];
  assert.match(stamped[0].lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // The watch brings the object back with the server's default filled in (type: IPAddress).
  const echoed: CachedObject = {
    metadata: { name: 'g', namespace: 'ns', resourceVersion: '11' },
    status: { addresses: [{ type: 'IPAddress', value: '10.0.0.1' }], conditions: stamped },
  };
  assert.ok(writer.isOwnWrite('gateways/ns/g', '11'));
  const recomputed = { addresses: [{ value: '10.0.0.1' }], conditions: [condition] };
  await writer.write([{ kind: 'gateways', object: echoed, status: recomputed, source: recomputed }]);
  assert.equal(api.patches.length, 1, 'no second patch');
});

test('a write refused with 409 is reported as conflicted, so the controller computes it again', async () => {
  const { api, writer } = setup();
  api.conflict = true;
  const obj: CachedObject = { metadata: { name: 'r', namespace: 'ns', resourceVersion: '7' }, status: {} };
  const status = { parents: [{ parentRef: { name: 'g' }, controllerName: 'me', conditions: [condition] }] };
  const { conflicted } = await writer.write([{ kind: 'httproutes', object: obj, status, source: status }]);
  assert.equal(conflicted, true);
  assert.equal(writer.conflicts, 1);
  assert.equal(writer.writes, 0);
});

test('an unchanged source on an unchanged resourceVersion is not even compared again', async () => {
  const { api, writer } = setup();
  const status = { conditions: [condition] };
  const obj: CachedObject = { metadata: { name: 'c', resourceVersion: '3' }, status: {} };
  await writer.write([{ kind: 'gatewayclasses', object: obj, status, source: status }]);
  assert.equal(api.patches.length, 1);
  // Same source and version: skipped even though the cached object still shows the old status.
  await writer.write([
    {
      kind: 'gatewayclasses',
      object: { ...obj, metadata: { ...obj.metadata, resourceVersion: '11' } },
      status,
      source: status,
    },
  ]);
  await writer.write([
    {
      kind: 'gatewayclasses',
      object: { ...obj, metadata: { ...obj.metadata, resourceVersion: '11' } },
      status,
      source: status,
    },
  ]);
  assert.equal(api.patches.length, 1);
});
