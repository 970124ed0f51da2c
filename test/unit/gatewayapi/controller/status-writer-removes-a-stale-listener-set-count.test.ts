import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ControllerMetrics } from '../../../../src/gatewayapi/controller/metrics.ts';
import { StatusWriter, type CachedObject } from '../../../../src/gatewayapi/controller/status-writer.ts';
import type { KubeClient } from '../../../../src/kube/client.ts';

// A stand-in for the status subresource that applies a JSON merge patch as the API server does (a
// null removes the field; a field not named is kept). Pure logic: the conformance suite's
// ListenerSet tests read the real one.
class MergePatchAPI {
  stored: Record<string, unknown>;
  patches: Record<string, unknown>[] = [];
  rv = 10;
  constructor(stored: Record<string, unknown>) {
    this.stored = stored;
  }
  json<T>(method: string, _path: string, body: unknown): Promise<T> {
    assert.equal(method, 'PATCH');
    const patch = (body as { status: Record<string, unknown> }).status;
    this.patches.push(patch);
    const next = { ...this.stored };
    for (const [k, v] of Object.entries(patch))
      if (v === null) delete next[k];
      else next[k] = v;
    this.stored = next;
    return Promise.resolve({
      metadata: { name: 'g', resourceVersion: String(++this.rv) },
      status: next,
    } as T);
  }
}

const condition = {
  type: 'Accepted',
  status: 'True',
  reason: 'Accepted',
  message: '',
  observedGeneration: 1,
};
const silent = pino({ level: 'silent' });

function object(status: Record<string, unknown>, rv: string): CachedObject {
  return { metadata: { name: 'g', namespace: 'ns', resourceVersion: rv }, status };
}

test('a Gateway status without attachedListenerSets removes the count the object still shows', async () => {
  const shown = {
    conditions: [{ ...condition, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    attachedListenerSets: 2,
  };
  const api = new MergePatchAPI(shown);
  const writer = new StatusWriter(api as unknown as KubeClient, silent, new ControllerMetrics(undefined));
  const status = { conditions: [condition] };
  await writer.write([{ kind: 'gateways', object: object(shown, '5'), status, source: status }]);
  assert.equal(api.patches.length, 1, 'the rest of the status is unchanged, yet the stale count is a change');
  assert.equal(api.patches[0].attachedListenerSets, null, 'removed by a null in the merge patch');
  assert.equal(api.stored.attachedListenerSets, undefined);

  // The object as the watch brings it back: nothing more to write.
  await writer.write([{ kind: 'gateways', object: object(api.stored, '11'), status, source: status }]);
  assert.equal(api.patches.length, 1);
});

test('a count of 0 is written as 0, and an unchanged count is not written again', async () => {
  const shown = {
    conditions: [{ ...condition, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    attachedListenerSets: 2,
  };
  const api = new MergePatchAPI(shown);
  const writer = new StatusWriter(api as unknown as KubeClient, silent, new ControllerMetrics(undefined));
  const status = { conditions: [condition], attachedListenerSets: 0 };
  await writer.write([{ kind: 'gateways', object: object(shown, '5'), status, source: status }]);
  assert.equal(api.patches.length, 1);
  assert.equal(api.stored.attachedListenerSets, 0);
  await writer.write([{ kind: 'gateways', object: object(api.stored, '11'), status, source: status }]);
  assert.equal(api.patches.length, 1);
});

test('the field is left alone on kinds that do not own it', async () => {
  const shown = {
    conditions: [{ ...condition, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    attachedListenerSets: 2,
  };
  const api = new MergePatchAPI(shown);
  const writer = new StatusWriter(api as unknown as KubeClient, silent, new ControllerMetrics(undefined));
  const status = { conditions: [condition] };
  await writer.write([{ kind: 'listenersets', object: object(shown, '5'), status, source: status }]);
  assert.equal(api.patches.length, 0);
});
