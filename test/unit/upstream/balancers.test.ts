import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LeastRequestBalancer,
  RandomBalancer,
  RoundRobinBalancer,
  createBalancer,
} from '../../../src/upstream/balancers/index.ts';
import { runBalancerSuite } from './balancer-conformance.ts';

// A seeded generator keeps the random balancers' spread tests deterministic.
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

runBalancerSuite('round-robin', () => new RoundRobinBalancer(), { spreadsOpenWatches: true });
runBalancerSuite('random', () => new RandomBalancer(mulberry32(1)), { spreadsOpenWatches: false });
runBalancerSuite('least-request', () => new LeastRequestBalancer(mulberry32(2)), {
  spreadsOpenWatches: true,
});

test('least-request prefers the endpoint with fewer requests in flight', () => {
  const b = new LeastRequestBalancer(mulberry32(3));
  const c = [
    { name: 'busy', inflight: 50, longRunning: 0 },
    { name: 'idle', inflight: 0, longRunning: 0 },
  ];
  for (let i = 0; i < 20; i++) assert.equal(b.pick(c, false).name, 'idle');
});

test('least-request compares watches by long-running count, not by short requests', () => {
  const b = new LeastRequestBalancer(mulberry32(4));
  const c = [
    { name: 'many-watches', inflight: 0, longRunning: 40 },
    { name: 'busy-short', inflight: 40, longRunning: 0 },
  ];
  for (let i = 0; i < 20; i++) assert.equal(b.pick(c, true).name, 'busy-short');
});

test('createBalancer builds each configured kind', () => {
  assert.ok(createBalancer('round-robin') instanceof RoundRobinBalancer);
  assert.ok(createBalancer('random') instanceof RandomBalancer);
  assert.ok(createBalancer('least-request') instanceof LeastRequestBalancer);
});
