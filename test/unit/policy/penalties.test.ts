import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateSharedPenaltyBox, PenaltyBox, SharedPenaltyBox } from '../../../src/policy/index.ts';
import { FakeClock } from './fake-clock.ts';
import { penaltiesConformance } from './penalties-conformance.ts';

penaltiesConformance('PenaltyBox', (now) => new PenaltyBox(10_000, now));
penaltiesConformance('SharedPenaltyBox', (now) => new SharedPenaltyBox(allocateSharedPenaltyBox(), now));

test('PenaltyBox: past its size the key penalised longest ago leaves first', () => {
  const p = new PenaltyBox(2, new FakeClock().now);
  p.penalize('a', 1000);
  p.penalize('b', 1000);
  p.penalize('c', 1000);
  assert.deepEqual(
    ['a', 'b', 'c'].map((k) => p.penalized(k)),
    [false, true, true],
  );
});

test('SharedPenaltyBox: a penalty set through one view of the buffer holds in every other', () => {
  const clock = new FakeClock();
  const buffer = allocateSharedPenaltyBox();
  const [one, two] = [new SharedPenaltyBox(buffer, clock.now), new SharedPenaltyBox(buffer, clock.now)];
  one.penalize('198.51.100.7', 100);
  assert.equal(two.penalized('198.51.100.7'), true);
  clock.advance(100);
  assert.equal(two.penalized('198.51.100.7'), false);
});

test('SharedPenaltyBox: a buffer too small or not shared is refused by name', () => {
  assert.throws(() => new SharedPenaltyBox(new SharedArrayBuffer(8)), /The "buffer" option must be at least/);
  assert.throws(
    () => new SharedPenaltyBox(new ArrayBuffer(1 << 20) as unknown as SharedArrayBuffer),
    /The "buffer" option must be a SharedArrayBuffer/,
  );
});
