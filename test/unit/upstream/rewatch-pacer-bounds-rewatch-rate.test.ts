import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { Endpoint } from '../../../src/upstream/endpoint.ts';
import { RewatchPacer } from '../../../src/upstream/rewatch-pacer.ts';

// The pacer of retired watches (issue 23 point 2), on simulated time: how many watches it ends in
// any second, and when it is done. The e2e test credential-rotation-spreads-rewatches counts the
// same at real apiservers.

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

/** `n` watches spread over `count` endpoints; each records when it was ended. */
function retiring(
  count: number,
  n: number,
): { endpoints: Endpoint[]; ended: number[]; closed: Set<Endpoint> } {
  const ended: number[] = [];
  const closed = new Set<Endpoint>();
  const endpoints = Array.from({ length: count }, (_, i) => {
    const ep = new Endpoint(
      `apiserver-${i}`,
      `https://127.0.0.1:${i + 1}`,
      { ca: '' },
      { pingIntervalMs: 1000 },
    );
    ep.close = () => void closed.add(ep);
    return ep;
  });
  for (let i = 0; i < n; i++) endpoints[i % count].watches.add(() => ended.push(Date.now()));
  return { endpoints, ended, closed };
}

function busiestSecond(ts: readonly number[]): number {
  let most = 0;
  for (let i = 0, j = 0; j < ts.length; j++) {
    while (ts[j] - ts[i] >= 1000) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

function run(ms: number): void {
  for (let t = 0; t < ms; t += 5) mock.timers.tick(5);
}

test('1,000 watches end at most maxPerSecond a second, then each endpoint closes', async () => {
  const pacer = new RewatchPacer(() => Date.now());
  pacer.configure({ maxPerSecond: 100, windowMs: 60_000 });
  const { endpoints, ended, closed } = retiring(3, 1000);
  pacer.retire(endpoints);
  await assert.rejects(endpoints[0].pool.acquire(), /closed/, 'a retired endpoint takes no new stream');
  assert.ok(ended.length <= 100, 'not all at once');
  run(20_000);
  assert.equal(ended.length, 1000, 'every watch ended');
  assert.ok(busiestSecond(ended) <= 100, `at most 100 in any second, saw ${busiestSecond(ended)}`);
  assert.ok(ended.at(-1)! >= 9000, 'spread over ten seconds or more');
  assert.equal(closed.size, 3, 'each endpoint closed once its watches were gone');
  assert.equal(pacer.pending, 0);
});

test('the window wins over the rate: every watch ends within windowSeconds', () => {
  const pacer = new RewatchPacer(() => Date.now());
  pacer.configure({ maxPerSecond: 10, windowMs: 5000 });
  const { endpoints, ended, closed } = retiring(2, 1000);
  pacer.retire(endpoints);
  run(5200);
  assert.equal(ended.length, 1000, `every watch ended within the window (+ one tick), ended ${ended.length}`);
  assert.equal(closed.size, 2);
});

test('watches that ended on their own are not waited for, and close() closes what is left at once', () => {
  const pacer = new RewatchPacer(() => Date.now());
  pacer.configure({ maxPerSecond: 10, windowMs: 60_000 });
  const { endpoints, ended, closed } = retiring(1, 100);
  pacer.retire(endpoints);
  // The first second is [0, 1000): a tick that lands at 1000 ms exactly may already end the next
  // second's share (the pacer's window slides), which a clean run saw as 11.
  run(995);
  const before = ended.length;
  assert.ok(before > 0 && before <= 10, `${before} ended in the first second`);
  endpoints[0].watches.clear(); // their clients left
  run(100);
  assert.equal(closed.size, 1, 'closed as soon as nothing is left to end');
  const again = retiring(1, 50);
  pacer.retire(again.endpoints);
  pacer.close();
  assert.equal(again.closed.size, 1, 'close() closes what is still retiring');
});
