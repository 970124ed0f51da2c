import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { admit, observeQueueWaits } from '../../../src/cluster/admission.ts';
import type { RulePolicy } from '../../../src/cluster/rule-policy.ts';
import type { ClusterRuntime } from '../../../src/cluster/runtime.ts';
import { GatewayMetrics } from '../../../src/observe/metrics.ts';
import {
  ClosedBreaker,
  InflightLimiter,
  Unlimited,
  UnlimitedConcurrency,
} from '../../../src/policy/index.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';

test('requests that queue for an in-flight slot are observed in kubegate_queue_wait_seconds', async () => {
  const limiter = new InflightLimiter({ maxInflight: 1, queueLength: 5, queueTimeoutMs: 60 });
  const cluster = {
    name: 'prod',
    breaker: new ClosedBreaker(),
    config: { circuitBreaker: { message: 'open' } },
  } as unknown as ClusterRuntime;
  const policy = {
    rule: { name: 'ci', spec: { limits: { maxInflightReadOnly: 1 } } },
    exempt: false,
    limiters: {
      rate: new Unlimited(),
      perUser: 'none',
      readOnly: limiter,
      mutating: limiter,
      longRunning: new UnlimitedConcurrency(),
    },
  } as unknown as RulePolicy;
  const m = new GatewayMetrics(
    { clusters: () => [], listeners: () => [], configSources: () => [] },
    { processMetrics: false },
  );
  const stop = observeQueueWaits((c, r, ms) => m.queueWait(c, r, ms));
  try {
    const info = parseRequestInfo('GET', '/api/v1/pods');
    const identity = { user: 'u', uid: '', groups: [], extra: {} };
    const go = () => admit(cluster, policy, info, identity, false, undefined);
    const first = go();
    assert.ok(!(first instanceof Promise), 'a free slot is taken without queueing');
    const served = go(); // queued, then served after ~30 ms
    setTimeout(() => (first as { release(): void }).release(), 30);
    (await served).release();
    const held = go() as { release(): void };
    await assert.rejects(Promise.resolve(go()), { code: 'KG_QUEUE_TIMEOUT' }); // ~60 ms
    held.release();
    await sleep(1);

    const h = await m.registry.getSingleMetric('kubegate_queue_wait_seconds')!.get();
    const count = h.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'));
    const total = h.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'));
    assert.deepEqual(count?.labels, { cluster: 'prod', rule: 'ci' });
    assert.equal(count?.value, 2, 'two requests queued; the ones admitted at once are not observed');
    assert.ok(total !== undefined && total.value >= 0.085 && total.value < 1, `sum ${total?.value}`);
  } finally {
    stop();
  }
});
