import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceEndpoint } from '../../../../src/node/service/endpoints.ts';
import { maglevSize, maglevTable } from '../../../../src/node/service/maglev.ts';
import { slotTable } from '../../../../src/node/service/schedulers.ts';

const ep = (ip: string, podName?: string): ServiceEndpoint => ({
  ip,
  port: 80,
  nodeName: 'n',
  podName,
  ready: true,
  serving: true,
  terminating: false,
});

test('a Maglev table gives every backend a near-equal share of slots', () => {
  const backends = ['a', 'b', 'c', 'd', 'e'];
  const t = maglevTable(backends, 251);
  assert.equal(t.length, 251);
  const counts = backends.map((_, i) => t.filter((x) => x === i).length);
  for (const c of counts) assert.ok(c >= 49 && c <= 52, JSON.stringify(counts));
});

test('removing one Maglev backend moves few slots of the others', () => {
  const names = Array.from({ length: 10 }, (_, i) => `10.244.1.${i}:80`);
  const before = maglevTable(names, 251).map((i) => names[i]);
  const fewer = names.filter((n) => n !== '10.244.1.3:80');
  const after = maglevTable(fewer, 251).map((i) => fewer[i]);
  let moved = 0;
  for (let s = 0; s < 251; s++) if (before[s] !== '10.244.1.3:80' && before[s] !== after[s]) moved++;
  assert.ok(moved < 251 * 0.1, `${moved} slots of remaining backends moved`);
});

test('the Maglev table grows with the endpoints (at least ten slots each)', () => {
  assert.equal(maglevSize(3), 251);
  assert.equal(maglevSize(26), 1021);
  assert.ok(maglevSize(2000) >= 20_000);
});

test('wrr interleaves slots by weight; rr and random have one slot each', () => {
  const eps = [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b')];
  const w = slotTable({ name: 'wrr', fallback: false, port: false }, eps, new Map([['a', 3]]));
  assert.equal(w.generator, 'inc');
  assert.deepEqual(w.slots, [0, 0, 1, 0]);
  assert.deepEqual(slotTable({ name: 'rr', fallback: false, port: false }, eps, new Map()).slots, [0, 1]);
  assert.equal(
    slotTable({ name: 'random', fallback: false, port: false }, eps, new Map()).generator,
    'random',
  );
  assert.equal(slotTable({ name: 'sh', fallback: false, port: true }, eps, new Map()).generator, 'srcport');
});
