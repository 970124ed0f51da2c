import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  QueueAbortedError,
  QueueFullError,
  QueueTimeoutError,
  type ConcurrencyLimiter,
  type Permit,
} from '../../../src/policy/index.ts';
import { seededRandom } from './fake-clock.ts';

/** Builds the limiter under test; bounded limiters honour all three options. */
export type NewConcurrencyLimiter = (opts: {
  maxInflight: number;
  queueLength: number;
  queueTimeoutMs: number;
}) => ConcurrencyLimiter;

/** A promise's fate, readable synchronously after a `tick()`. */
class Watched {
  permit: Permit | undefined;
  error: unknown;
  constructor(p: Promise<Permit>) {
    p.then(
      (permit) => (this.permit = permit),
      (error: unknown) => (this.error = error),
    );
  }
  get pending(): boolean {
    return this.permit === undefined && this.error === undefined;
  }
}

/** The suite every ConcurrencyLimiter passes; `bounded: false` for limiters that never make anyone wait. */
export function runConcurrencyLimiterSuite(
  name: string,
  newLimiter: NewConcurrencyLimiter,
  opts: { bounded: boolean },
): void {
  test(`${name}: tryAcquire hands out a permit synchronously while a slot is free`, () => {
    const l = newLimiter({ maxInflight: 2, queueLength: 1, queueTimeoutMs: 1000 });
    const p = l.tryAcquire();
    assert.ok(p !== null && typeof (p as unknown as PromiseLike<unknown>).then !== 'function');
    assert.equal(l.inflight, 1);
    assert.equal(l.queued, 0);
  });

  test(`${name}: inflight counts permits out and released`, async () => {
    const l = newLimiter({ maxInflight: 3, queueLength: 0, queueTimeoutMs: 1000 });
    const a = l.tryAcquire();
    const b = await l.acquire();
    assert.equal(l.inflight, 2);
    a?.release();
    assert.equal(l.inflight, 1);
    b.release();
    assert.equal(l.inflight, 0);
  });

  test(`${name}: releasing a permit twice frees one slot only`, () => {
    const l = newLimiter({ maxInflight: 2, queueLength: 0, queueTimeoutMs: 1000 });
    const a = l.tryAcquire();
    l.tryAcquire();
    a?.release();
    a?.release();
    assert.equal(l.inflight, 1);
    assert.ok(l.tryAcquire() !== null);
    if (opts.bounded) assert.equal(l.tryAcquire(), null);
  });

  test(`${name}: acquire with an already aborted signal rejects with an AbortError`, async () => {
    const l = newLimiter({ maxInflight: 1, queueLength: 1, queueTimeoutMs: 1000 });
    const reason = new Error('client went away');
    await assert.rejects(l.acquire(AbortSignal.abort(reason)), (e: unknown) => {
      assert.ok(e instanceof QueueAbortedError);
      assert.equal(e.name, 'AbortError');
      assert.equal(e.code, 'KG_QUEUE_ABORTED');
      assert.equal(e.cause, reason);
      return true;
    });
    assert.equal(l.inflight, 0);
  });

  if (!opts.bounded) {
    test(`${name}: admits any number at once and never queues`, async () => {
      const l = newLimiter({ maxInflight: 1, queueLength: 0, queueTimeoutMs: 1000 });
      for (let i = 0; i < 1000; i++) assert.ok(l.tryAcquire() !== null);
      await l.acquire();
      assert.equal(l.inflight, 1001);
      assert.equal(l.queued, 0);
    });
    return;
  }

  test(`${name}: tryAcquire returns null when every slot is taken`, () => {
    const l = newLimiter({ maxInflight: 2, queueLength: 5, queueTimeoutMs: 1000 });
    l.tryAcquire();
    l.tryAcquire();
    assert.equal(l.tryAcquire(), null);
    assert.equal(l.queued, 0);
  });

  test(`${name}: waiters get slots in arrival order`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const l = newLimiter({ maxInflight: 1, queueLength: 10, queueTimeoutMs: 1000 });
    const first = l.tryAcquire();
    const order: number[] = [];
    const waiters = Array.from({ length: 5 }, (_, i) =>
      l.acquire().then((p) => {
        order.push(i);
        return p;
      }),
    );
    assert.equal(l.queued, 5);
    first?.release();
    for (const w of waiters) (await w).release();
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.equal(l.inflight, 0);
    assert.equal(l.queued, 0);
  });

  test(`${name}: a release hands the slot to the head of the queue, not to tryAcquire`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const l = newLimiter({ maxInflight: 1, queueLength: 2, queueTimeoutMs: 1000 });
    const first = l.tryAcquire();
    const a = new Watched(l.acquire());
    const b = new Watched(l.acquire());
    first?.release();
    assert.equal(l.inflight, 1, 'the slot went to a waiter');
    assert.equal(l.queued, 1);
    assert.equal(l.tryAcquire(), null, 'no barging in');
    await tick();
    assert.ok(a.permit !== undefined && b.pending, 'exactly one waiter woke');
  });

  test(`${name}: a full queue rejects at once with QueueFullError`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const l = newLimiter({ maxInflight: 1, queueLength: 2, queueTimeoutMs: 1000 });
    l.tryAcquire();
    new Watched(l.acquire());
    new Watched(l.acquire());
    await assert.rejects(
      l.acquire(),
      (e: unknown) => e instanceof QueueFullError && e.code === 'KG_QUEUE_FULL',
    );
    assert.equal(l.queued, 2);
  });

  test(`${name}: queue length 0 rejects at once when every slot is taken`, async () => {
    const l = newLimiter({ maxInflight: 1, queueLength: 0, queueTimeoutMs: 1000 });
    l.tryAcquire();
    await assert.rejects(l.acquire(), QueueFullError);
    assert.equal(l.queued, 0);
  });

  test(`${name}: a waiter times out after queueTimeoutMs and leaves the queue`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const l = newLimiter({ maxInflight: 1, queueLength: 2, queueTimeoutMs: 1000 });
    const held = l.tryAcquire();
    const w = new Watched(l.acquire());
    t.mock.timers.tick(999);
    await tick();
    assert.ok(w.pending, 'not before the timeout');
    t.mock.timers.tick(1);
    await tick();
    assert.ok(w.error instanceof QueueTimeoutError && w.error.code === 'KG_QUEUE_TIMEOUT');
    assert.equal(l.queued, 0);
    held?.release();
    assert.equal(l.inflight, 0, 'the released slot was not given to the departed waiter');
  });

  test(`${name}: a served waiter's timeout never fires`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const l = newLimiter({ maxInflight: 1, queueLength: 1, queueTimeoutMs: 1000 });
    const held = l.tryAcquire();
    const w = new Watched(l.acquire());
    t.mock.timers.tick(500);
    held?.release();
    t.mock.timers.tick(5000);
    await tick();
    assert.ok(w.permit !== undefined);
    assert.equal(l.inflight, 1);
  });

  test(`${name}: an aborted waiter leaves the queue and the others keep their order`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const l = newLimiter({ maxInflight: 1, queueLength: 3, queueTimeoutMs: 1000 });
    const held = l.tryAcquire();
    const ac = new AbortController();
    const a = new Watched(l.acquire());
    const b = new Watched(l.acquire(ac.signal));
    const c = new Watched(l.acquire());
    const reason = new Error('client went away');
    ac.abort(reason);
    await tick();
    assert.ok(
      b.error instanceof QueueAbortedError && b.error.name === 'AbortError' && b.error.cause === reason,
    );
    assert.equal(l.queued, 2);
    held?.release();
    await tick();
    assert.ok(a.permit !== undefined && c.pending);
    a.permit.release();
    await tick();
    assert.ok(c.permit !== undefined);
  });

  test(`${name}: an abort after the slot was granted changes nothing`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const l = newLimiter({ maxInflight: 1, queueLength: 1, queueTimeoutMs: 1000 });
    const held = l.tryAcquire();
    const ac = new AbortController();
    const w = new Watched(l.acquire(ac.signal));
    held?.release();
    ac.abort();
    await tick();
    assert.ok(w.permit !== undefined);
    assert.equal(l.inflight, 1);
    w.permit.release();
    assert.equal(l.inflight, 0);
  });

  test(`${name}: random interleavings never exceed maxInflight and keep the counts true`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const seen = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seededRandom(seed);
      const max = 1 + Math.floor(random() * 4);
      const queueLength = Math.floor(random() * 5);
      const l = newLimiter({ maxInflight: max, queueLength, queueTimeoutMs: 100 });
      const held: Permit[] = [];
      const waiting: { w: Watched; ac: AbortController }[] = [];
      for (let step = 0; step < 2000; step++) {
        const r = random();
        if (r < 0.3) {
          const p = l.tryAcquire();
          if (p !== null) held.push(p);
        } else if (r < 0.55) {
          const ac = new AbortController();
          waiting.push({ w: new Watched(l.acquire(ac.signal)), ac });
        } else if (r < 0.85 && held.length > 0) {
          const p = held.splice(Math.floor(random() * held.length), 1)[0];
          p.release();
          if (random() < 0.2) p.release();
        } else if (r < 0.92 && waiting.length > 0) {
          waiting[Math.floor(random() * waiting.length)].ac.abort();
        } else {
          t.mock.timers.tick(Math.floor(random() * 60));
        }
        await tick();
        for (let i = waiting.length - 1; i >= 0; i--) {
          const { w } = waiting[i];
          if (w.pending) continue;
          if (w.permit !== undefined) {
            held.push(w.permit);
            seen.add('served from the queue');
          } else {
            assert.ok(w.error instanceof Error && 'code' in w.error, String(w.error));
            seen.add(String(w.error.code));
          }
          waiting.splice(i, 1);
        }
        assert.ok(l.inflight <= max, `seed ${seed} step ${step}: ${l.inflight} in flight`);
        assert.equal(l.inflight, held.length, `seed ${seed} step ${step}: inflight`);
        assert.equal(l.queued, waiting.length, `seed ${seed} step ${step}: queued`);
        assert.ok(l.queued <= queueLength);
        if (l.queued > 0) assert.equal(l.inflight, max, 'nobody waits while a slot is free');
      }
    }
    // The walk is only worth something if it went through every path.
    assert.deepEqual([...seen].sort(), [
      'KG_QUEUE_ABORTED',
      'KG_QUEUE_FULL',
      'KG_QUEUE_TIMEOUT',
      'served from the queue',
    ]);
  });
}
