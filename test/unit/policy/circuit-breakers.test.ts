import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AdaptiveBreaker,
  ClosedBreaker,
  ManualBreaker,
  type AdaptiveBreakerOptions,
  type BreakerState,
} from '../../../src/policy/index.ts';
import { runCircuitBreakerSuite } from './circuit-breaker-conformance.ts';
import { FakeClock } from './fake-clock.ts';

const base: AdaptiveBreakerOptions = {
  windowMs: 10_000,
  buckets: 10,
  minRequests: 10,
  errorRatio: 0.5,
  openMs: 5000,
  halfOpenProbes: 3,
};

runCircuitBreakerSuite('adaptive', (now) => new AdaptiveBreaker({ ...base, now }), {
  startsClosed: true,
  opensOnFailures: true,
});
runCircuitBreakerSuite(
  'adaptive with slow calls',
  (now) => new AdaptiveBreaker({ ...base, slowRatio: 0.5, slowCallMs: 150, now }),
  { startsClosed: true, opensOnFailures: true },
);
const never = { opensOnFailures: false };
runCircuitBreakerSuite('closed', () => new ClosedBreaker(), { startsClosed: true, ...never });
runCircuitBreakerSuite('manual closed', () => new ManualBreaker(false), { startsClosed: true, ...never });
runCircuitBreakerSuite('manual open', () => new ManualBreaker(true), { startsClosed: false, ...never });

/** Sends `n` requests with the given outcome through the breaker. */
function send(b: AdaptiveBreaker, n: number, ok: boolean, latencyMs = 10): void {
  for (let i = 0; i < n; i++) {
    assert.ok(b.allow(), `request ${i} refused in ${b.state}`);
    b.record({ ok, latencyMs });
  }
}

/** A breaker already opened by failures, with the transitions it went through. */
function opened(opts: Partial<AdaptiveBreakerOptions> = {}) {
  const clock = new FakeClock();
  const changes: string[] = [];
  const b = new AdaptiveBreaker({
    ...base,
    ...opts,
    now: clock.now,
    onStateChange: (state: BreakerState, previous: BreakerState) => changes.push(`${previous}→${state}`),
  });
  send(b, 10, false);
  assert.equal(b.state, 'open');
  return { b, clock, changes };
}

test('adaptive: stays closed below minRequests even when every request fails', () => {
  const b = new AdaptiveBreaker({ ...base, now: new FakeClock().now });
  send(b, 9, false);
  assert.equal(b.state, 'closed');
  send(b, 1, false);
  assert.equal(b.state, 'open');
});

test('adaptive: opens when failures reach errorRatio and not a request before', () => {
  const b = new AdaptiveBreaker({ ...base, now: new FakeClock().now });
  send(b, 6, true);
  send(b, 4, false);
  assert.equal(b.state, 'closed', '4 of 10 failed');
  send(b, 1, false);
  assert.equal(b.state, 'closed', '5 of 11 failed');
  send(b, 1, false);
  assert.equal(b.state, 'open', '6 of 12 failed: exactly errorRatio');
});

test('adaptive: opens when slow calls reach slowRatio; a call of exactly slowCallMs is not slow', () => {
  const b = new AdaptiveBreaker({ ...base, slowRatio: 0.5, slowCallMs: 100, now: new FakeClock().now });
  send(b, 10, true, 100);
  send(b, 9, true, 101);
  assert.equal(b.state, 'closed', '9 slow of 19');
  send(b, 1, true, 101);
  assert.equal(b.state, 'open', '10 slow of 20');
});

test('adaptive: outcomes older than the window no longer count', () => {
  const clock = new FakeClock();
  const b = new AdaptiveBreaker({ ...base, now: clock.now });
  send(b, 9, false);
  clock.advance(10_000);
  send(b, 1, false);
  assert.equal(b.state, 'closed', 'the 9 old failures left the window');
  send(b, 8, false);
  assert.equal(b.state, 'closed');
  send(b, 1, false);
  assert.equal(b.state, 'open');
});

test('adaptive: outcomes spread over the window all count', () => {
  const clock = new FakeClock();
  const b = new AdaptiveBreaker({ ...base, now: clock.now });
  for (let i = 0; i < 10; i++) {
    send(b, 1, false);
    clock.advance(999);
  }
  assert.equal(b.state, 'open');
});

test('adaptive: open rejects for openMs with a shrinking retry hint', () => {
  const { b, clock } = opened();
  assert.equal(b.retryAfterMs(), 5000);
  clock.advance(1200.5);
  assert.equal(b.allow(), false);
  assert.equal(b.retryAfterMs(), 3800);
  clock.advance(3799.5);
  assert.equal(b.allow(), true);
  assert.equal(b.state, 'half-open');
});

test('adaptive: half-open admits exactly halfOpenProbes at once', () => {
  const { b, clock } = opened();
  clock.advance(5000);
  assert.deepEqual(
    Array.from({ length: 6 }, () => b.allow()),
    [true, true, true, false, false, false],
  );
  assert.equal(b.state, 'half-open');
  assert.ok(b.retryAfterMs() >= 1);
});

test('adaptive: closes after every probe succeeds, with a fresh window', () => {
  const { b, clock, changes } = opened();
  clock.advance(5000);
  send(b, 2, true);
  assert.equal(b.state, 'half-open');
  send(b, 1, true);
  assert.equal(b.state, 'closed');
  assert.equal(b.retryAfterMs(), 0);
  send(b, 9, false);
  assert.equal(b.state, 'closed', 'the failures that opened it were forgotten');
  assert.deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→closed']);
});

test('adaptive: a failed probe re-opens for another openMs', () => {
  const { b, clock, changes } = opened();
  clock.advance(5000);
  assert.ok(b.allow());
  assert.ok(b.allow());
  b.record({ ok: true, latencyMs: 5 });
  b.record({ ok: false, latencyMs: 5 });
  assert.equal(b.state, 'open');
  assert.equal(b.retryAfterMs(), 5000);
  assert.equal(b.allow(), false);
  assert.deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→open']);
});

test('adaptive: a slow probe re-opens', () => {
  const { b, clock } = opened({ slowRatio: 0.9, slowCallMs: 100 });
  clock.advance(5000);
  assert.ok(b.allow());
  b.record({ ok: true, latencyMs: 101 });
  assert.equal(b.state, 'open');
});

test('adaptive: probes never answered count as failed after openMs, so the breaker cannot wedge', () => {
  const { b, clock, changes } = opened();
  clock.advance(5000);
  for (let i = 0; i < 3; i++) b.allow();
  clock.advance(4999);
  assert.equal(b.allow(), false);
  assert.equal(b.state, 'half-open');
  clock.advance(1);
  assert.equal(b.allow(), false);
  assert.equal(b.state, 'open');
  clock.advance(5000);
  assert.equal(b.allow(), true);
  assert.deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→open', 'open→half-open']);
});

test('adaptive: late outcomes recorded while open are ignored', () => {
  const { b, clock } = opened();
  for (let i = 0; i < 50; i++) b.record({ ok: true, latencyMs: 1 });
  assert.equal(b.state, 'open');
  clock.advance(5000);
  assert.ok(b.allow());
  b.record({ ok: true, latencyMs: 1 });
  b.record({ ok: true, latencyMs: 1 });
  assert.equal(b.state, 'half-open', 'more outcomes than probes admitted are not taken as probes');
});

test('adaptive: onStateChange fires once per transition', () => {
  const { b, clock, changes } = opened();
  for (let i = 0; i < 10; i++) b.allow();
  clock.advance(5000);
  for (let i = 0; i < 10; i++) b.allow();
  for (let i = 0; i < 3; i++) b.record({ ok: true, latencyMs: 1 });
  for (let i = 0; i < 10; i++) b.allow();
  assert.deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→closed']);
});

test('manual: forced open rejects everything with the configured hint', () => {
  const b = new ManualBreaker(true, 2500);
  b.record({ ok: true, latencyMs: 1 });
  assert.equal(b.allow(), false);
  assert.equal(b.state, 'open');
  assert.equal(b.retryAfterMs(), 2500);
});

test('adaptive: impossible options are refused with the option named', () => {
  assert.throws(
    () => new AdaptiveBreaker({ ...base, errorRatio: 0 }),
    /"errorRatio" option must be > 0 and <= 1/,
  );
  assert.throws(() => new AdaptiveBreaker({ ...base, errorRatio: 1.5 }), /"errorRatio"/);
  assert.throws(() => new AdaptiveBreaker({ ...base, buckets: 0 }), /"buckets"/);
  assert.throws(() => new AdaptiveBreaker({ ...base, minRequests: 0 }), /"minRequests"/);
  assert.throws(() => new AdaptiveBreaker({ ...base, halfOpenProbes: 0 }), /"halfOpenProbes"/);
  assert.throws(() => new AdaptiveBreaker({ ...base, slowRatio: 0.5 }), /"slowRatio" and "slowCallMs"/);
  assert.throws(() => new AdaptiveBreaker({ ...base, slowCallMs: 100 }), /"slowRatio" and "slowCallMs"/);
  assert.throws(() => new ManualBreaker(true, 0), /"retryAfterMs"/);
});
