import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../../src/errors.ts';
import { KubeAPIError } from '../../../src/kube/client.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { TokenKeyHasher } from '../../../src/auth/token-cache.ts';
import { kubeTokenReviewer, TokenReviewAuthenticator } from '../../../src/auth/token-review.ts';
import type { TokenReviewer, TokenReviewResult } from '../../../src/auth/token-review.ts';

// A reviewer that knows a fixed set of tokens and counts its calls.
function fakeReviewer(valid: Record<string, string> = { 'good-token': 'alice' }) {
  const calls: Array<{ token: string; audiences: readonly string[] }> = [];
  const reviewer: TokenReviewer = {
    async review(token, audiences) {
      calls.push({ token, audiences });
      const username = valid[token];
      if (username === undefined) return { authenticated: false, error: 'invalid bearer token' };
      return {
        authenticated: true,
        user: { username, uid: `uid-${username}`, groups: ['dev'], extra: { k: ['v'] } },
      };
    },
  };
  return { reviewer, calls };
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('an accepted token becomes an identity with system:authenticated added', async () => {
  const { reviewer } = fakeReviewer();
  const auth = new TokenReviewAuthenticator({ reviewer });
  assert.deepEqual(await auth.authenticateToken('good-token'), {
    user: 'alice',
    uid: 'uid-alice',
    groups: ['dev', 'system:authenticated'],
    extra: { k: ['v'] },
  });
});

test('a rejected token is null, not an error', async () => {
  const { reviewer } = fakeReviewer();
  const auth = new TokenReviewAuthenticator({ reviewer });
  assert.equal(await auth.authenticateToken('bad-token'), null);
});

test('the second lookup of a token is a cache hit', async () => {
  const { reviewer, calls } = fakeReviewer();
  const auth = new TokenReviewAuthenticator({ reviewer });
  await auth.authenticateToken('good-token');
  await auth.authenticateToken('good-token');
  assert.equal(calls.length, 1);
  assert.deepEqual(auth.stats(), { hits: 1, misses: 1, reviews: 1, errors: 0, inFlight: 0, entries: 1 });
});

test('a success is cached for successTTL (valid at the expiry instant, gone after)', async () => {
  const { reviewer, calls } = fakeReviewer();
  const c = clock();
  const auth = new TokenReviewAuthenticator({ reviewer, now: c.now });
  assert.equal(auth.successTTLMs, 10_000);
  await auth.authenticateToken('good-token');
  c.t += 10_000;
  await auth.authenticateToken('good-token');
  assert.equal(calls.length, 1);
  c.t += 1;
  await auth.authenticateToken('good-token');
  assert.equal(calls.length, 2);
});

test('a failure is cached for the shorter failureTTL', async () => {
  const { reviewer, calls } = fakeReviewer();
  const c = clock();
  const auth = new TokenReviewAuthenticator({ reviewer, now: c.now });
  assert.equal(auth.failureTTLMs, 1_000);
  await auth.authenticateToken('bad-token');
  c.t += 1_000;
  assert.equal(await auth.authenticateToken('bad-token'), null);
  assert.equal(calls.length, 1);
  c.t += 1;
  await auth.authenticateToken('bad-token');
  assert.equal(calls.length, 2);
});

test('a TTL of 0 disables caching of that outcome', async () => {
  const { reviewer, calls } = fakeReviewer();
  const auth = new TokenReviewAuthenticator({ reviewer, failureTTLMs: 0, successTTLMs: 0 });
  await auth.authenticateToken('bad-token');
  await auth.authenticateToken('bad-token');
  await auth.authenticateToken('good-token');
  await auth.authenticateToken('good-token');
  assert.equal(calls.length, 4);
});

test('the cache is bounded and evicts the least recently used token', async () => {
  const { reviewer, calls } = fakeReviewer({ a: 'a', b: 'b', c: 'c', d: 'd' });
  const auth = new TokenReviewAuthenticator({ reviewer, maxEntries: 3 });
  for (const t of ['a', 'b', 'c']) await auth.authenticateToken(t);
  await auth.authenticateToken('a'); // a is now the most recent; b the least
  await auth.authenticateToken('d'); // evicts b
  assert.equal(auth.stats().entries, 3);
  calls.length = 0;
  for (const t of ['a', 'c', 'd']) await auth.authenticateToken(t);
  assert.equal(calls.length, 0);
  await auth.authenticateToken('b');
  assert.deepEqual(
    calls.map((c) => c.token),
    ['b'],
  );
});

test('the default cache holds 10 000 tokens', async () => {
  const { reviewer } = fakeReviewer({});
  const auth = new TokenReviewAuthenticator({ reviewer });
  for (let i = 0; i < 10_050; i++) await auth.authenticateToken(`t${i}`);
  assert.equal(auth.stats().entries, 10_000);
});

test('100 concurrent lookups of one token make one review (single-flight)', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let reviews = 0;
  const reviewer: TokenReviewer = {
    async review() {
      reviews++;
      await gate;
      return { authenticated: true, user: { username: 'alice' } };
    },
  };
  const auth = new TokenReviewAuthenticator({ reviewer });
  const all = Promise.all(Array.from({ length: 100 }, () => auth.authenticateToken('tok')));
  assert.equal(auth.stats().inFlight, 1);
  release();
  const results = await all;
  assert.equal(reviews, 1);
  assert.ok(results.every((r) => r?.user === 'alice'));
  assert.equal(auth.stats().inFlight, 0);
  assert.equal(auth.stats().misses, 100);
});

test('concurrent lookups of different tokens are reviewed separately', async () => {
  const { reviewer, calls } = fakeReviewer({ x: 'x', y: 'y' });
  const auth = new TokenReviewAuthenticator({ reviewer });
  const [x, y] = await Promise.all([auth.authenticateToken('x'), auth.authenticateToken('y')]);
  assert.equal(x?.user, 'x');
  assert.equal(y?.user, 'y');
  assert.equal(calls.length, 2);
});

test('the raw token is never a cache key', async () => {
  const secret = 'eyJhbGciOiJSUzI1NiJ9.super-secret-token-value';
  const { reviewer } = fakeReviewer({ [secret]: 'alice' });
  const auth = new TokenReviewAuthenticator({ reviewer });
  await auth.authenticateToken(secret);
  const keys = auth.cachedKeys();
  assert.equal(keys.length, 1);
  assert.ok(!keys[0].includes(secret) && !keys[0].includes('super-secret'));
  assert.match(keys[0], /^[A-Za-z0-9_-]{43}$/); // a base64url SHA-256 HMAC
  // keyed per process: another authenticator derives another key for the same token
  const other = new TokenReviewAuthenticator({ reviewer });
  await other.authenticateToken(secret);
  assert.notEqual(other.cachedKeys()[0], keys[0]);
});

test('backend errors surface as KG_AUTH_BACKEND and are not cached', async () => {
  let fail = true;
  let calls = 0;
  const reviewer: TokenReviewer = {
    async review(): Promise<TokenReviewResult> {
      calls++;
      if (fail) throw new Error('connect ECONNREFUSED');
      return { authenticated: true, user: { username: 'alice' } };
    },
  };
  const auth = new TokenReviewAuthenticator({ reviewer });
  await assert.rejects(
    async () => auth.authenticateToken('tok'),
    (err: unknown) =>
      err instanceof GatewayError &&
      err.code === 'KG_AUTH_BACKEND' &&
      err.reason === 'ServiceUnavailable' &&
      err.status === 503,
  );
  assert.equal(auth.stats().errors, 1);
  assert.equal(auth.stats().entries, 0);
  fail = false;
  assert.equal((await auth.authenticateToken('tok'))?.user, 'alice');
  assert.equal(calls, 2);
});

test('a 403 from the cluster (gateway lacks permission) is an InternalError', async () => {
  const reviewer: TokenReviewer = {
    async review() {
      throw new KubeAPIError('POST', '/apis/authentication.k8s.io/v1/tokenreviews', 403, {
        message: 'forbidden',
      });
    },
  };
  const auth = new TokenReviewAuthenticator({ reviewer });
  await assert.rejects(
    async () => auth.authenticateToken('tok'),
    (err: unknown) =>
      err instanceof GatewayError && err.code === 'KG_AUTH_BACKEND' && err.reason === 'InternalError',
  );
});

test('all waiters of a failing flight get the error, and the next call retries', async () => {
  let calls = 0;
  const reviewer: TokenReviewer = {
    async review() {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('boom');
    },
  };
  const auth = new TokenReviewAuthenticator({ reviewer });
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => auth.authenticateToken('tok')));
  assert.ok(results.every((r) => r.status === 'rejected'));
  assert.equal(calls, 1);
  await assert.rejects(async () => auth.authenticateToken('tok'));
  assert.equal(calls, 2);
});

test('a synchronously throwing reviewer does not wedge the in-flight table', async () => {
  const reviewer = {
    review(): Promise<TokenReviewResult> {
      throw new Error('sync');
    },
  };
  const auth = new TokenReviewAuthenticator({ reviewer });
  await assert.rejects(async () => auth.authenticateToken('tok'));
  await new Promise((r) => setImmediate(r));
  assert.equal(auth.stats().inFlight, 0);
});

test('audiences: sent to the reviewer and checked in the answer', async () => {
  const seen: Array<readonly string[]> = [];
  let answer: readonly string[] | undefined = ['https://kubernetes.default.svc'];
  const reviewer: TokenReviewer = {
    async review(_token, audiences) {
      seen.push(audiences);
      return { authenticated: true, user: { username: 'alice' }, audiences: answer };
    },
  };
  const auth = new TokenReviewAuthenticator({ reviewer, audiences: ['https://kubernetes.default.svc'] });
  assert.equal((await auth.authenticateToken('t1'))?.user, 'alice');
  assert.deepEqual(seen[0], ['https://kubernetes.default.svc']);
  answer = ['other'];
  assert.equal(await auth.authenticateToken('t2'), null);
  answer = undefined; // no audiences in the status: the requested ones are implied
  assert.equal((await auth.authenticateToken('t3'))?.user, 'alice');
});

test('an authenticated answer with an empty user name is treated as a rejection', async () => {
  const reviewer: TokenReviewer = {
    async review() {
      return { authenticated: true, user: { username: '' } };
    },
  };
  assert.equal(await new TokenReviewAuthenticator({ reviewer }).authenticateToken('t'), null);
});

test('kubeTokenReviewer posts an authentication.k8s.io/v1 TokenReview', async () => {
  const posted: unknown[] = [];
  const client = {
    async json(method: string, path: string, body: unknown) {
      posted.push({ method, path, body });
      return {
        status: {
          authenticated: true,
          user: { username: 'system:serviceaccount:ns:sa', groups: ['g'] },
          audiences: ['a'],
        },
      };
    },
  } as unknown as KubeClient;
  const reviewer = kubeTokenReviewer(client);
  const result = await reviewer.review('tok', []);
  assert.deepEqual(posted[0], {
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/tokenreviews',
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'tok' } },
  });
  assert.deepEqual(result, {
    authenticated: true,
    user: { username: 'system:serviceaccount:ns:sa', groups: ['g'] },
    audiences: ['a'],
    error: undefined,
  });
  await reviewer.review('tok', ['aud']);
  assert.deepEqual((posted[1] as { body: { spec: unknown } }).body.spec, {
    token: 'tok',
    audiences: ['aud'],
  });
});

test('cache keys are length-prefixed HMACs of token and audiences', () => {
  const h = new TokenKeyHasher();
  assert.equal(h.key('tok', ['a']), h.key('tok', ['a']));
  assert.notEqual(h.key('tok', ['a']), h.key('tok', ['b']));
  assert.notEqual(h.key('tok', []), h.key('tok', ['']));
  assert.notEqual(h.key('ab', ['c']), h.key('a', ['bc']));
  assert.notEqual(h.key('tok', ['a', 'b']), h.key('tok', ['ab']));
});
