import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Now, Penalties } from '../../../src/policy/index.ts';
import { FakeClock } from './fake-clock.ts';

/** The behaviour every Penalties implementation shares; `make(now)` builds a fresh one. */
export function penaltiesConformance(name: string, make: (now: Now) => Penalties): void {
  test(`${name}: a key is refused for its penalty, then let in again; other keys are not`, () => {
    const clock = new FakeClock();
    clock.advance(1000);
    const p = make(clock.now);
    assert.equal(p.penalized('192.0.2.1'), false, 'nobody before any penalty');
    p.penalize('192.0.2.1', 500);
    assert.equal(p.penalized('192.0.2.1'), true);
    assert.equal(p.penalized('192.0.2.2'), false, 'another key is not penalised');
    clock.advance(499);
    assert.equal(p.penalized('192.0.2.1'), true, 'still within the penalty');
    clock.advance(1);
    assert.equal(p.penalized('192.0.2.1'), false, 'the penalty is over');
  });

  test(`${name}: a new penalty replaces the running one, shorter or longer`, () => {
    const clock = new FakeClock();
    const p = make(clock.now);
    p.penalize('a', 1000);
    p.penalize('a', 100);
    clock.advance(100);
    assert.equal(p.penalized('a'), false, 'the shorter, later penalty counts');
    p.penalize('a', 100);
    p.penalize('a', 1000);
    clock.advance(500);
    assert.equal(p.penalized('a'), true, 'the longer, later penalty counts');
  });

  test(`${name}: thousands of keys are each penalised and each let in again`, () => {
    const clock = new FakeClock();
    const p = make(clock.now);
    const keys = Array.from({ length: 5000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    for (const k of keys) p.penalize(k, 1000);
    assert.equal(keys.filter((k) => p.penalized(k)).length, keys.length);
    assert.equal(p.penalized('192.0.2.9'), false);
    clock.advance(1000);
    assert.equal(keys.filter((k) => p.penalized(k)).length, 0);
  });
}
