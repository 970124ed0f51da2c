import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Now, RateLimiter } from '../../../src/policy/index.ts';
import { FakeClock, seededRandom } from './fake-clock.ts';

/** Builds the limiter under test; limiters that enforce a rate honour qps and burst. */
export type NewRateLimiter = (opts: { qps: number; burst: number; now: Now }) => RateLimiter;

/** Counts the requests admitted when one arrives every `stepMs` for `durationMs`. */
function admittedOver(l: RateLimiter, clock: FakeClock, durationMs: number, stepMs: number): number {
  let admitted = 0;
  for (let t = 0; t <= durationMs; t += stepMs) {
    if (l.take('k') === 0) admitted++;
    clock.advance(stepMs);
  }
  return admitted;
}

/** The suite every RateLimiter passes; `enforces: false` for limiters that admit everything. */
export function runRateLimiterSuite(
  name: string,
  newLimiter: NewRateLimiter,
  opts: { enforces: boolean },
): void {
  test(`${name}: the first request goes at once`, () => {
    const clock = new FakeClock();
    assert.equal(newLimiter({ qps: 1, burst: 1, now: clock.now }).take('k'), 0);
  });

  test(`${name}: every answer is 0 or a whole number of milliseconds of at least 1`, () => {
    const clock = new FakeClock();
    const random = seededRandom(11);
    const l = newLimiter({ qps: 3.7, burst: 2, now: clock.now });
    for (let i = 0; i < 5000; i++) {
      const wait = l.take('k');
      assert.ok(wait === 0 || (Number.isInteger(wait) && wait >= 1), `got ${wait}`);
      clock.advance(random() * 300);
    }
  });

  if (!opts.enforces) {
    test(`${name}: admits any number of requests at the same instant`, () => {
      const l = newLimiter({ qps: 1, burst: 1, now: new FakeClock().now });
      for (let i = 0; i < 10_000; i++) assert.equal(l.take('k'), 0);
      for (let i = 0; i < 100; i++) assert.equal(l.reserve('k', 0), 0);
      l.refund('k');
    });
    return;
  }

  test(`${name}: reserve charges a request whose token comes within maxWaitMs and says how long to wait`, () => {
    const clock = new FakeClock();
    const l = newLimiter({ qps: 10, burst: 1, now: clock.now });
    assert.equal(l.reserve('k', 250), 0, 'the bucket is full');
    assert.equal(l.reserve('k', 250), 100);
    assert.equal(l.reserve('k', 250), 200);
    assert.equal(l.reserve('k', 250), -300, 'beyond maxWaitMs: refused with the wait, not charged');
    assert.equal(l.reserve('k', 250), -300, 'the refusal cost nothing');
    assert.equal(l.take('k'), 300, 'take sees the reservations');
    clock.advance(100);
    assert.equal(l.reserve('k', 250), 200);
  });

  test(`${name}: refund gives a reservation's token back`, () => {
    const clock = new FakeClock();
    const l = newLimiter({ qps: 10, burst: 1, now: clock.now });
    assert.equal(l.reserve('k', 1000), 0);
    assert.equal(l.reserve('k', 1000), 100);
    assert.equal(l.reserve('k', 1000), 200);
    l.refund('k');
    assert.equal(l.reserve('k', 1000), 200, 'the refunded slot is taken again');
  });

  test(`${name}: reserved requests go at qps: 50 reserved at once span 49 intervals`, () => {
    const clock = new FakeClock();
    const l = newLimiter({ qps: 20, burst: 1, now: clock.now });
    const waits = Array.from({ length: 60 }, () => l.reserve('k', 49 * 50));
    assert.deepEqual(
      waits.slice(0, 50),
      Array.from({ length: 50 }, (_, i) => i * 50),
    );
    assert.ok(
      waits.slice(50).every((w) => w < 0),
      'the rest are refused',
    );
  });

  test(`${name}: qps 5 burst 5 over 10 s admits the burst plus 5 a second (55 ± 1)`, () => {
    const clock = new FakeClock();
    const n = admittedOver(newLimiter({ qps: 5, burst: 5, now: clock.now }), clock, 10_000, 1);
    assert.ok(Math.abs(n - 55) <= 1, `admitted ${n}`);
  });

  test(`${name}: never admits more than the burst at one instant, even after a long idle`, () => {
    const clock = new FakeClock();
    const l = newLimiter({ qps: 100, burst: 7, now: clock.now });
    for (const idle of [0, 60_000, 3_600_000]) {
      clock.advance(idle);
      let admitted = 0;
      for (let i = 0; i < 100; i++) if (l.take('k') === 0) admitted++;
      assert.equal(admitted, 7, `after ${idle} ms idle`);
    }
  });

  test(`${name}: the wait hint is exact to the millisecond`, () => {
    const clock = new FakeClock();
    const l = newLimiter({ qps: 4, burst: 2, now: clock.now });
    l.take('k');
    l.take('k');
    clock.advance(30);
    const wait = l.take('k');
    assert.equal(wait, 220);
    clock.advance(wait - 1);
    assert.equal(l.take('k'), 1);
    clock.advance(1);
    assert.equal(l.take('k'), 0);
  });

  test(`${name}: the hint is exact to the millisecond for fractional qps and odd times`, () => {
    const clock = new FakeClock();
    const random = seededRandom(5);
    const l = newLimiter({ qps: 0.3, burst: 1.5, now: clock.now });
    for (let i = 0; i < 200; i++) {
      clock.advance(random() * 5000);
      const wait = l.take('k');
      if (wait === 0) continue;
      // The hint is rounded up to a whole millisecond: a millisecond less is too early.
      clock.advance(wait - 1);
      assert.notEqual(l.take('k'), 0, 'admitted before the hint');
      clock.advance(1);
      assert.equal(l.take('k'), 0, 'refused at the hint');
    }
  });

  test(`${name}: fractional qps 0.5 admits one request every 2 s`, () => {
    const clock = new FakeClock();
    const n = admittedOver(newLimiter({ qps: 0.5, burst: 1, now: clock.now }), clock, 60_000, 10);
    assert.ok(Math.abs(n - 31) <= 1, `admitted ${n}`);
  });

  test(`${name}: refused requests cost nothing`, () => {
    const clock = new FakeClock();
    const l = newLimiter({ qps: 10, burst: 1, now: clock.now });
    l.take('k');
    for (let i = 0; i < 99; i++) {
      clock.advance(1);
      assert.ok(l.take('k') > 0);
    }
    clock.advance(1);
    assert.equal(l.take('k'), 0);
  });

  test(`${name}: no window of random arrivals admits more than burst + qps × its length`, () => {
    const clock = new FakeClock();
    const random = seededRandom(42);
    const qps = 20;
    const burst = 10;
    const l = newLimiter({ qps, burst, now: clock.now });
    const times: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      clock.advance(random() < 0.1 ? random() * 2000 : random() * 10);
      if (l.take('k') === 0) times.push(clock.t);
    }
    for (const windowMs of [0, 100, 1000, 10_000]) {
      let lo = 0;
      for (let hi = 0; hi < times.length; hi++) {
        while (times[hi] - times[lo] > windowMs) lo++;
        const admitted = hi - lo + 1;
        assert.ok(admitted <= burst + (qps * windowMs) / 1000, `${admitted} in ${windowMs} ms`);
      }
    }
  });
}
