import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  KeyedTokenBuckets,
  SharedKeyedTokenBuckets,
  SharedTokenBucket,
  TokenBucket,
  Unlimited,
} from '../../../src/policy/index.ts';
import { FakeClock } from './fake-clock.ts';
import { runRateLimiterSuite } from './rate-limiter-conformance.ts';

runRateLimiterSuite('token-bucket', (o) => new TokenBucket(o), { enforces: true });
runRateLimiterSuite('keyed-token-buckets', (o) => new KeyedTokenBuckets({ ...o, maxKeys: 100 }), {
  enforces: true,
});
runRateLimiterSuite('unlimited', () => new Unlimited(), { enforces: false });
runRateLimiterSuite(
  'shared-token-bucket',
  (o) => new SharedTokenBucket({ ...o, buffer: new SharedArrayBuffer(SharedTokenBucket.BYTES) }),
  { enforces: true },
);
runRateLimiterSuite(
  'shared-keyed-token-buckets',
  (o) => new SharedKeyedTokenBuckets({ ...o, maxKeys: 100, buffer: SharedKeyedTokenBuckets.allocate(100) }),
  { enforces: true },
);

test('token-bucket: every key draws from the one bucket', () => {
  const l = new TokenBucket({ qps: 1, burst: 2, now: new FakeClock().now });
  assert.equal(l.take('alice'), 0);
  assert.equal(l.take('bob'), 0);
  assert.ok(l.take('carol') > 0);
});

test('keyed-token-buckets: each key has its own bucket', () => {
  const l = new KeyedTokenBuckets({ qps: 1, burst: 1, maxKeys: 10, now: new FakeClock().now });
  assert.equal(l.take('alice'), 0);
  assert.equal(l.take('alice'), 1000);
  assert.equal(l.take('bob'), 0);
  assert.equal(l.take('system:serviceaccount:kube-system:default'), 0);
});

test('keyed-token-buckets: 100k distinct keys never hold more than maxKeys entries', () => {
  const l = new KeyedTokenBuckets({ qps: 1, burst: 1, maxKeys: 1000, now: new FakeClock().now });
  for (let i = 0; i < 100_000; i++) {
    assert.equal(l.take(`user-${i}`), 0);
    assert.ok(l.size <= 1000);
  }
  assert.equal(l.size, 1000);
});

test('keyed-token-buckets: the least recently used key is evicted and starts full again', () => {
  const l = new KeyedTokenBuckets({ qps: 1, burst: 1, maxKeys: 2, now: new FakeClock().now });
  l.take('a');
  l.take('b');
  assert.ok(l.take('a') > 0, 'a is drained');
  l.take('c'); // evicts b: a was used after b
  assert.ok(l.take('a') > 0, 'a was kept, still drained');
  l.take('d'); // evicts c
  assert.ok(l.take('a') > 0, 'a was kept again');
  l.take('e'); // evicts d
  l.take('f'); // evicts a
  assert.equal(l.take('a'), 0, 'a came back with a full bucket');
});

test('keyed-token-buckets: a refused request also counts as use for the LRU', () => {
  const l = new KeyedTokenBuckets({ qps: 1, burst: 1, maxKeys: 2, now: new FakeClock().now });
  l.take('a');
  l.take('b');
  assert.ok(l.take('a') > 0);
  l.take('c'); // evicts b, not a
  assert.ok(l.take('a') > 0);
  assert.equal(l.take('b'), 0);
});

test('keyed-token-buckets: evicting a key whose bucket had refilled changes nothing', () => {
  const clock = new FakeClock();
  const small = new KeyedTokenBuckets({ qps: 2, burst: 2, maxKeys: 1, now: clock.now });
  const big = new KeyedTokenBuckets({ qps: 2, burst: 2, maxKeys: 100, now: clock.now });
  // Two keys take turns a full refill (1 s) apart, so the tiny LRU keeps evicting full buckets.
  for (let i = 0; i < 50; i++) {
    const key = i % 2 === 0 ? 'a' : 'b';
    for (let j = 0; j < 3; j++) assert.equal(small.take(key), big.take(key));
    clock.advance(1000);
  }
});

test('rate limiters refuse impossible shapes with the option named', () => {
  assert.throws(() => new TokenBucket({ qps: 0, burst: 1 }), /"qps" option must be > 0/);
  assert.throws(() => new TokenBucket({ qps: Infinity, burst: 1 }), /"qps"/);
  assert.throws(() => new TokenBucket({ qps: 1, burst: 0.5 }), /"burst" option must be >= 1/);
  assert.throws(
    () => new KeyedTokenBuckets({ qps: 1, burst: 1, maxKeys: 0 }),
    /"maxKeys" option must be an integer >= 1/,
  );
});

test('token-bucket: defaults to the monotonic performance clock', () => {
  const l = new TokenBucket({ qps: 1, burst: 1 });
  assert.equal(l.take('k'), 0);
  const wait = l.take('k');
  assert.ok(wait > 990 && wait <= 1000, `got ${wait}`);
});
