import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Balancer, Candidate } from '../../../src/upstream/balancers/index.ts';

interface Ep extends Candidate {
  name: string;
  inflight: number;
  longRunning: number;
}

const eps = (n: number): Ep[] =>
  Array.from({ length: n }, (_, i) => ({ name: `ep-${i}`, inflight: 0, longRunning: 0 }));

/** The suite every balancer passes. */
export function runBalancerSuite(
  name: string,
  make: () => Balancer,
  opts: { spreadsOpenWatches: boolean },
): void {
  test(`${name}: picks only from the candidates given`, () => {
    const b = make();
    const c = eps(3);
    for (let i = 0; i < 100; i++) assert.ok(c.includes(b.pick(c, false)));
  });

  test(`${name}: a single candidate is always picked`, () => {
    const b = make();
    const c = eps(1);
    for (let i = 0; i < 10; i++) assert.equal(b.pick(c, i % 2 === 0), c[0]);
  });

  test(`${name}: 3000 short requests spread within ±10% over 3 endpoints`, () => {
    const b = make();
    const c = eps(3);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const e = b.pick(c, false);
      counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
    }
    for (const e of c) {
      const n = counts.get(e.name) ?? 0;
      assert.ok(n >= 900 && n <= 1100, `${e.name} got ${n}`);
    }
  });

  // Only balancers that count open watches promise this; random is random by design.
  if (!opts.spreadsOpenWatches) return;
  test(`${name}: 99 long-running requests that stay open spread 33±5`, () => {
    const b = make();
    const c = eps(3);
    for (let i = 0; i < 99; i++) b.pick(c, true).longRunning++;
    for (const e of c) assert.ok(Math.abs(e.longRunning - 33) <= 5, `${e.name} holds ${e.longRunning}`);
  });
}
