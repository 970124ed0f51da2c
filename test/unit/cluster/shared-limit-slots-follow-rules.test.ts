import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applySharedLimitsDelta,
  SharedLimitRegistry,
  sharedLimitKey,
} from '../../../src/cluster/shared-limits.ts';
import { limitsKey } from '../../../src/cluster/rule-policy.ts';
import type { ClusterConfig } from '../../../src/config/model.ts';
import type { Rule } from '../../../src/config/schema/rule.ts';

function cluster(name: string, rules: Rule[], defaultLimits?: Rule['limits']): ClusterConfig {
  return { name, rules, defaultRule: { limits: defaultLimits } } as unknown as ClusterConfig;
}

const bucket = { qps: 5, burst: 10 };
const capped = { maxInflightReadOnly: 3, maxInflightMutating: 1, maxLongRunning: 2 };

test('every stateful limiter of a rule gets a buffer; rules without limits get none', () => {
  const shared = new SharedLimitRegistry().assign([
    cluster('a', [
      { name: 'r', limits: { ...bucket, ...capped } } as Rule,
      { name: 'free', match: {} } as Rule,
    ]),
  ]);
  const lk = limitsKey({ ...bucket, ...capped });
  for (const kind of ['rate', 'readOnly', 'mutating', 'longRunning'] as const)
    assert.ok(shared.get(sharedLimitKey('a', 'r', kind, lk)) instanceof SharedArrayBuffer, kind);
  assert.equal(shared.size, 4);
});

test('a rule that keeps its cluster, name and limits keeps its buffers across assignments', () => {
  const reg = new SharedLimitRegistry();
  const key = sharedLimitKey('a', 'r', 'rate', limitsKey(bucket));
  const first = reg.assign([cluster('a', [{ name: 'r', limits: bucket } as Rule])]).get(key);
  const again = reg
    .assign([cluster('a', [{ name: 'new', limits: bucket } as Rule, { name: 'r', limits: bucket } as Rule])])
    .get(key);
  assert.ok(first !== undefined && first === again, 'same buffer: the bucket state carries over');
  const changed = reg.assign([cluster('a', [{ name: 'r', limits: { qps: 5, burst: 20 } } as Rule])]);
  assert.equal(changed.get(key), undefined, 'new limits: the old buffer is dropped');
  const back = reg.assign([cluster('a', [{ name: 'r', limits: bucket } as Rule])]).get(key);
  assert.ok(back !== undefined && back !== first, 'a rule that comes back starts afresh, as in one thread');
});

test('the default rule and a rule named "default" do not share a buffer; nor do clusters', () => {
  const shared = new SharedLimitRegistry().assign([
    cluster('a', [{ name: 'default', limits: bucket } as Rule], bucket),
    cluster('b', [{ name: 'default', limits: bucket } as Rule]),
  ]);
  const lk = limitsKey(bucket);
  const named = shared.get(sharedLimitKey('a', 'default', 'rate', lk));
  const dflt = shared.get(sharedLimitKey('a', null, 'rate', lk));
  const other = shared.get(sharedLimitKey('b', 'default', 'rate', lk));
  assert.ok(named && dflt && other);
  assert.equal(new Set([named, dflt, other]).size, 3);
});

test('deltas applied in order rebuild each assignment, and carry only the rules that changed', () => {
  const reg = new SharedLimitRegistry();
  const mirror = new SharedLimitRegistry();
  // `n` rules r0…, each with a bucket of `qps(i)`.
  const a = (n: number, qps: (i: number) => number) =>
    cluster(
      'a',
      Array.from({ length: n }, (_, i) => ({ name: `r${i}`, limits: { qps: qps(i), burst: 10 } }) as Rule),
    );
  const r7 = (i: number) => (i === 7 ? 6 : 5);
  let held: ReturnType<typeof applySharedLimitsDelta> = new Map();
  const steps = [
    [a(100, () => 5)],
    [a(100, r7)], // one rule's limits changed
    [a(99, r7)], // one rule gone
    [a(99, r7), cluster('b', [{ name: 'x', limits: bucket } as Rule, { name: 'y', limits: bucket } as Rule])],
  ];
  const sizes: [number, number][] = [];
  for (const clusters of steps) {
    const delta = reg.assignDelta(clusters);
    sizes.push([delta.added.size, delta.removed.length]);
    held = applySharedLimitsDelta(held, delta);
    // Same keys as a full assignment, and the very buffers the registry holds.
    const full = mirror.assign(clusters);
    assert.deepEqual([...held.keys()].sort(), [...full.keys()].sort());
    for (const [key, buffer] of reg.assign(clusters)) assert.equal(held.get(key), buffer, key);
  }
  assert.deepEqual(sizes, [
    [100, 0], // a bucket per rule (the default rule has no limits)
    [1, 1], // r7's new bucket; its old one dropped
    [0, 1], // r99 gone
    [2, 0], // cluster b's two
  ]);
});
