import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { InflightLimiter, SharedInflightLimiter, UnlimitedConcurrency } from '../../../src/policy/index.ts';
import { runConcurrencyLimiterSuite } from './concurrency-limiter-conformance.ts';

runConcurrencyLimiterSuite('inflight', (o) => new InflightLimiter(o), { bounded: true });
runConcurrencyLimiterSuite('unlimited', () => new UnlimitedConcurrency(), { bounded: false });
runConcurrencyLimiterSuite(
  'shared-inflight',
  (o) => new SharedInflightLimiter({ ...o, buffer: new SharedArrayBuffer(SharedInflightLimiter.BYTES) }),
  { bounded: true },
);

test('inflight: an Infinity queue timeout waits until the signal aborts', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const l = new InflightLimiter({ maxInflight: 1, queueLength: 1, queueTimeoutMs: Infinity });
  l.tryAcquire();
  const ac = new AbortController();
  let error: unknown;
  l.acquire(ac.signal).catch((e: unknown) => (error = e));
  t.mock.timers.tick(2 ** 31);
  await tick();
  assert.equal(error, undefined);
  ac.abort();
  await tick();
  assert.ok((error as unknown) instanceof Error && (error as unknown as Error).name === 'AbortError');
  assert.equal(l.queued, 0);
});

test('inflight: a waiter that timed out no longer listens to its signal', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const l = new InflightLimiter({ maxInflight: 1, queueLength: 1, queueTimeoutMs: 10 });
  l.tryAcquire();
  const ac = new AbortController();
  const errors: unknown[] = [];
  l.acquire(ac.signal).catch((e: unknown) => errors.push(e));
  t.mock.timers.tick(10);
  ac.abort();
  await tick();
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as { code: string }).code, 'KG_QUEUE_TIMEOUT');
});

test('inflight: impossible options are refused with the option named', () => {
  const ok = { maxInflight: 1, queueLength: 0, queueTimeoutMs: 1000 };
  assert.throws(
    () => new InflightLimiter({ ...ok, maxInflight: 0 }),
    /"maxInflight" option must be an integer >= 1/,
  );
  assert.throws(() => new InflightLimiter({ ...ok, queueLength: -1 }), /"queueLength"/);
  assert.throws(() => new InflightLimiter({ ...ok, queueLength: 1.5 }), /"queueLength"/);
  assert.throws(
    () => new InflightLimiter({ ...ok, queueTimeoutMs: 0 }),
    /"queueTimeoutMs" option must be > 0/,
  );
  assert.throws(
    () => new InflightLimiter({ ...ok, queueTimeoutMs: 2 ** 31 }),
    /"queueTimeoutMs" option must be <=/,
  );
});
