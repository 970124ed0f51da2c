import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenKeyHasher } from '../../../src/auth/token-cache.ts';
import { TokenReviewAuthenticator, type TokenReviewer } from '../../../src/auth/token-review.ts';

// The per-connection memo lets a connection's repeated token skip the HMAC; these tests count
// HMACs through the hasher's prototype and reviews through the reviewer.
function setup(opts: { maxEntries?: number } = {}) {
  const reviews: string[] = [];
  const reviewer: TokenReviewer = {
    async review(token) {
      reviews.push(token);
      if (!token.startsWith('good-')) return { authenticated: false };
      return { authenticated: true, user: { username: token.slice(5) } };
    },
  };
  const c = { t: 1_000_000 };
  const auth = new TokenReviewAuthenticator({ reviewer, now: () => c.t, maxEntries: opts.maxEntries });
  return { auth, reviews, clock: c };
}

function countHMACs(): { count: number; restore(): void } {
  const original = TokenKeyHasher.prototype.key;
  const h = {
    count: 0,
    restore: () => (TokenKeyHasher.prototype.key = original),
  };
  TokenKeyHasher.prototype.key = function (this: TokenKeyHasher, ...args) {
    h.count++;
    return original.apply(this, args);
  };
  return h;
}

test('a connection repeating its token is served from the memo, without hashing again', async (t) => {
  const h = countHMACs();
  t.after(h.restore);
  const { auth, reviews } = setup();
  const conn = {};
  await auth.authenticateToken('good-alice', conn); // miss: reviewed
  await auth.authenticateToken('good-alice', conn); // cache hit: memo set
  const before = h.count;
  for (let i = 0; i < 5; i++) assert.equal((await auth.authenticateToken('good-alice', conn))?.user, 'alice');
  assert.equal(h.count, before, 'no HMAC for memo hits');
  assert.deepEqual(reviews, ['good-alice']);
  assert.equal(auth.stats().hits, 6);
});

test('the memo holds no longer than the cache entry: a revoked token is reviewed again after the TTL', async () => {
  const { auth, reviews, clock } = setup();
  const conn = {};
  await auth.authenticateToken('good-bob', conn);
  await auth.authenticateToken('good-bob', conn);
  clock.t += auth.successTTLMs; // still valid at the expiry instant
  await auth.authenticateToken('good-bob', conn);
  assert.equal(reviews.length, 1);
  clock.t += 1;
  await auth.authenticateToken('good-bob', conn);
  assert.equal(reviews.length, 2);
});

test('another token on the same connection is looked up, not taken from the memo', async () => {
  const { auth } = setup();
  const conn = {};
  await auth.authenticateToken('good-alice', conn);
  await auth.authenticateToken('good-alice', conn);
  assert.equal((await auth.authenticateToken('good-carol', conn))?.user, 'carol');
  assert.equal(await auth.authenticateToken('bad-token', conn), null);
  assert.equal((await auth.authenticateToken('good-alice', conn))?.user, 'alice');
});

test('an entry evicted from the bounded cache is no longer served by the memo', async () => {
  const { auth, reviews } = setup({ maxEntries: 1 });
  const a = {};
  await auth.authenticateToken('good-alice', a);
  await auth.authenticateToken('good-alice', a); // memo of a → alice's entry
  await auth.authenticateToken('good-dave', {}); // evicts alice
  await auth.authenticateToken('good-alice', a);
  assert.deepEqual(reviews, ['good-alice', 'good-dave', 'good-alice']);
});

test('memos are per connection: a token first seen on another connection is hashed there', async (t) => {
  const h = countHMACs();
  t.after(h.restore);
  const { auth, reviews } = setup();
  const one = {};
  await auth.authenticateToken('good-erin', one);
  await auth.authenticateToken('good-erin', one);
  const before = h.count;
  await auth.authenticateToken('good-erin', {});
  assert.equal(h.count, before + 1);
  assert.equal(reviews.length, 1);
});
