import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KeyedLimit } from '../../../src/policy/index.ts';

/** The behaviour every KeyedLimit shares; `make(max)` builds a fresh one. */
export function keyedLimitConformance(name: string, make: (max: () => number) => KeyedLimit): void {
  test(`${name}: at most max permits per key, keys apart`, () => {
    const cap = make(() => 2);
    const a1 = cap.tryAcquire('alice');
    const a2 = cap.tryAcquire('alice');
    assert.ok(a1 && a2);
    assert.equal(cap.tryAcquire('alice'), null);
    assert.ok(cap.tryAcquire('bob'), 'another key has its own count');
    assert.equal(cap.held('alice'), 2);
    assert.equal(cap.held('bob'), 1);
    assert.equal(cap.held('carol'), 0);
  });

  test(`${name}: a released permit frees its slot once, however often it is released`, () => {
    const cap = make(() => 1);
    const p = cap.tryAcquire('alice')!;
    p.release();
    p.release();
    assert.equal(cap.held('alice'), 0);
    const q = cap.tryAcquire('alice');
    assert.ok(q);
    assert.equal(cap.tryAcquire('alice'), null, 'a double release gave no extra slot');
  });

  test(`${name}: max is read per acquire, so a lower limit applies to the next one`, () => {
    let max = 3;
    const cap = make(() => max);
    cap.tryAcquire('u');
    cap.tryAcquire('u');
    max = 2;
    assert.equal(cap.tryAcquire('u'), null);
    max = 0;
    assert.equal(cap.tryAcquire('v'), null, 'max 0 admits nothing');
  });

  test(`${name}: many keys each get their own cap`, () => {
    const cap = make(() => 1);
    const permits = [];
    for (let i = 0; i < 5000; i++) {
      const p = cap.tryAcquire(`10.0.${i >> 8}.${i & 255}`);
      assert.ok(p, `key ${i}`);
      permits.push(p);
    }
    for (let i = 0; i < 5000; i++) assert.equal(cap.tryAcquire(`10.0.${i >> 8}.${i & 255}`), null);
    for (const p of permits) p.release();
    for (let i = 0; i < 5000; i++) assert.equal(cap.held(`10.0.${i >> 8}.${i & 255}`), 0);
  });
}
