import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CircuitBreaker, Now } from '../../../src/policy/index.ts';
import { FakeClock, seededRandom } from './fake-clock.ts';

/** Builds the breaker under test on the given clock. */
export type NewCircuitBreaker = (now: Now) => CircuitBreaker;

/**
 * The suite every CircuitBreaker passes; `startsClosed: false` for a breaker forced open,
 * `opensOnFailures` for breakers that must go through every state under storms of failures.
 */
export function runCircuitBreakerSuite(
  name: string,
  newBreaker: NewCircuitBreaker,
  opts: { startsClosed: boolean; opensOnFailures: boolean },
): void {
  test(`${name}: ${opts.startsClosed ? 'starts closed and admits' : 'starts open and rejects'}`, () => {
    const b = newBreaker(new FakeClock().now);
    assert.equal(b.state, opts.startsClosed ? 'closed' : 'open');
    assert.equal(b.allow(), opts.startsClosed);
  });

  test(`${name}: a closed breaker admits and asks for no wait; a rejection always comes with a wait`, () => {
    const clock = new FakeClock();
    const random = seededRandom(7);
    const b = newBreaker(clock.now);
    let rejected = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const state = b.state;
      seen.add(state);
      assert.ok(state === 'closed' || state === 'open' || state === 'half-open', state);
      const allowed = b.allow();
      if (state === 'closed') assert.ok(allowed);
      if (allowed && b.state === 'closed') assert.equal(b.retryAfterMs(), 0);
      if (!allowed) {
        rejected++;
        assert.notEqual(b.state, 'closed');
        const wait = b.retryAfterMs();
        assert.ok(Number.isInteger(wait) && wait >= 1, `wait ${wait} in ${b.state}`);
      }
      // Failures come in storms, so an adaptive breaker goes through all its states.
      const failing = Math.floor(clock.t / 20_000) % 2 === 1;
      if (allowed) b.record({ ok: failing ? random() < 0.2 : random() < 0.98, latencyMs: random() * 200 });
      clock.advance(random() * 20);
    }
    if (!opts.startsClosed) assert.equal(rejected, 20_000);
    if (opts.opensOnFailures) assert.deepEqual([...seen].sort(), ['closed', 'half-open', 'open']);
  });

  if (!opts.startsClosed) return;

  test(`${name}: successful fast traffic never opens it`, () => {
    const clock = new FakeClock();
    const b = newBreaker(clock.now);
    for (let i = 0; i < 10_000; i++) {
      assert.ok(b.allow());
      b.record({ ok: true, latencyMs: 1 });
      clock.advance(1);
    }
    assert.equal(b.state, 'closed');
  });

  test(`${name}: a recorded outcome never throws whatever the state`, () => {
    const clock = new FakeClock();
    const b = newBreaker(clock.now);
    for (let i = 0; i < 1000; i++) {
      b.allow();
      b.record({ ok: false, latencyMs: 10_000 });
      clock.advance(3);
    }
  });
}
