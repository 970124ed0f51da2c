import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { GatewayError } from '../../../src/errors.ts';
import { ServiceAccountJWTAuthenticator } from '../../../src/auth/service-account-jwt.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
const NOW_S = 1_800_000_000;

interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: 'ES256' | 'ES384' | 'ES512' | 'RS256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, jwk };
}

function boundClaims(over: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: ISSUER,
    aud: [AUDIENCE],
    sub: 'system:serviceaccount:team-a:builder',
    iat: NOW_S - 10,
    nbf: NOW_S - 10,
    exp: NOW_S + 3600,
    jti: 'b9c2e2f0-0000-4000-8000-000000000001',
    'kubernetes.io': {
      namespace: 'team-a',
      serviceaccount: { name: 'builder', uid: 'sa-uid-1' },
      pod: { name: 'builder-7d9f', uid: 'pod-uid-1' },
      node: { name: 'node-1', uid: 'node-uid-1' },
    },
    ...over,
  };
}

async function sign(
  key: SigningKey,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

function setup(keys: JWK[], opts: { now?: () => number; fail?: boolean } = {}) {
  const state = { keys, fetches: 0, fail: opts.fail ?? false };
  const auth = new ServiceAccountJWTAuthenticator({
    issuers: [ISSUER],
    audiences: [AUDIENCE],
    fetchJWKS: async () => {
      state.fetches++;
      if (state.fail) throw new Error('jwks unavailable');
      return { keys: state.keys };
    },
    now: opts.now ?? (() => NOW_S * 1000),
  });
  return { auth, state };
}

function isRejection(err: unknown): boolean {
  return err instanceof GatewayError && err.code === 'KG_UNAUTHENTICATED' && err.status === 401;
}

test('a valid pod-bound token maps to the identity kube-apiserver gives it', async () => {
  const key = await signingKey('ES256', 'k1');
  const { auth } = setup([key.jwk]);
  assert.deepEqual(await auth.authenticateToken(await sign(key, boundClaims())), {
    user: 'system:serviceaccount:team-a:builder',
    uid: 'sa-uid-1',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'],
    extra: {
      'authentication.kubernetes.io/pod-name': ['builder-7d9f'],
      'authentication.kubernetes.io/pod-uid': ['pod-uid-1'],
      'authentication.kubernetes.io/credential-id': ['JTI=b9c2e2f0-0000-4000-8000-000000000001'],
      'authentication.kubernetes.io/node-name': ['node-1'],
      'authentication.kubernetes.io/node-uid': ['node-uid-1'],
    },
  });
});

test('every algorithm kube-apiserver signs with verifies', async () => {
  for (const alg of ['RS256', 'ES256', 'ES384', 'ES512'] as const) {
    const key = await signingKey(alg, `kid-${alg}`);
    const { auth } = setup([key.jwk]);
    const identity = await auth.authenticateToken(await sign(key, boundClaims()));
    assert.equal(identity?.user, 'system:serviceaccount:team-a:builder', alg);
  }
});

test('a token without pod, node or jti gets no extras', async () => {
  const key = await signingKey('ES256', 'k1');
  const { auth } = setup([key.jwk]);
  const claims = boundClaims({
    jti: undefined,
    'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'sa', uid: 'u' } },
  });
  const identity = await auth.authenticateToken(await sign(key, claims));
  assert.deepEqual(identity?.extra, {});
  assert.equal(identity?.user, 'system:serviceaccount:ns:sa');
});

test('a node-bound token carries node-name, and node-uid only when set', async () => {
  const key = await signingKey('ES256', 'k1');
  const { auth } = setup([key.jwk]);
  const claims = boundClaims({
    jti: undefined,
    'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'sa', uid: 'u' }, node: { name: 'n1' } },
  });
  assert.deepEqual((await auth.authenticateToken(await sign(key, claims)))?.extra, {
    'authentication.kubernetes.io/node-name': ['n1'],
  });
});

test('expiry and not-before allow kube-apiserver’s 60 s leeway, and no more', async () => {
  const key = await signingKey('ES256', 'k1');
  const { auth } = setup([key.jwk]);
  const expiredInLeeway = await sign(key, boundClaims({ exp: NOW_S - 60 }));
  assert.ok(await auth.authenticateToken(expiredInLeeway));
  const expired = await sign(key, boundClaims({ exp: NOW_S - 61 }));
  await assert.rejects(
    async () => auth.authenticateToken(expired),
    (err: unknown) => {
      return isRejection(err) && (err as Error).message === 'service account token has expired';
    },
  );
  const early = await sign(key, boundClaims({ nbf: NOW_S + 61 }));
  await assert.rejects(async () => auth.authenticateToken(early), /not valid yet/);
  assert.ok(await auth.authenticateToken(await sign(key, boundClaims({ nbf: NOW_S + 60 }))));
  const future = await sign(key, boundClaims({ iat: NOW_S + 61 }));
  await assert.rejects(async () => auth.authenticateToken(future), /issued in the future/);
});

test('a token for another audience is rejected', async () => {
  const key = await signingKey('ES256', 'k1');
  const { auth } = setup([key.jwk]);
  const token = await sign(key, boundClaims({ aud: ['vault'] }));
  await assert.rejects(
    async () => auth.authenticateToken(token),
    (err: unknown) => {
      return isRejection(err) && /token audiences \["vault"\] is invalid/.test((err as Error).message);
    },
  );
  // one matching audience among several is enough
  assert.ok(await auth.authenticateToken(await sign(key, boundClaims({ aud: ['vault', AUDIENCE] }))));
  // no aud at all: the implicit (API server) audiences, as kube-apiserver does
  assert.ok(await auth.authenticateToken(await sign(key, boundClaims({ aud: undefined }))));
});

test('a token of another issuer is not ours: null, so the chain asks TokenReview', async () => {
  const key = await signingKey('ES256', 'k1');
  const { auth, state } = setup([key.jwk]);
  assert.equal(
    await auth.authenticateToken(await sign(key, boundClaims({ iss: 'https://dex.example' }))),
    null,
  );
  assert.equal(await auth.authenticateToken('not-a-jwt'), null);
  assert.equal(await auth.authenticateToken('a.b.c'), null);
  assert.equal(state.fetches, 0);
});

test('legacy and webhook-bound tokens are left to TokenReview', async () => {
  const key = await signingKey('ES256', 'k1');
  const { auth } = setup([key.jwk]);
  const legacy = await sign(key, {
    iss: ISSUER,
    sub: 'system:serviceaccount:ns:sa',
    'kubernetes.io/serviceaccount/namespace': 'ns',
  });
  assert.equal(await auth.authenticateToken(legacy), null);
  const webhook = boundClaims({
    'kubernetes.io': {
      namespace: 'ns',
      serviceaccount: { name: 'sa', uid: 'u' },
      validatingwebhookconfiguration: { name: 'w', uid: 'w' },
    },
  });
  assert.equal(await auth.authenticateToken(await sign(key, webhook)), null);
});

test('a bad signature from our issuer is rejected', async () => {
  const real = await signingKey('ES256', 'k1');
  const forger = await signingKey('ES256', 'k1'); // same kid, other key
  const { auth } = setup([real.jwk]);
  await assert.rejects(async () => auth.authenticateToken(await sign(forger, boundClaims())), isRejection);
  // an algorithm that does not fit the key (or is not one kube-apiserver uses) is rejected too
  const hs = `${Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'k1' })).toString('base64url')}.${Buffer.from(
    JSON.stringify(boundClaims()),
  ).toString('base64url')}.c2ln`;
  await assert.rejects(async () => auth.authenticateToken(hs), isRejection);
});

test('claims of the wrong type make the token invalid (go-jose rules)', async () => {
  const key = await signingKey('ES256', 'k1');
  const { auth } = setup([key.jwk]);
  await assert.rejects(
    async () => auth.authenticateToken(await sign(key, boundClaims({ exp: '9999999999' }))),
    isRejection,
  );
  await assert.rejects(
    async () => auth.authenticateToken(await sign(key, boundClaims({ aud: [1] }))),
    isRejection,
  );
});

test('an unknown kid triggers one key-set refresh, rate-limited to once per 10 s', async () => {
  const k1 = await signingKey('ES256', 'k1');
  const k2 = await signingKey('RS256', 'k2');
  const k3 = await signingKey('ES256', 'k3');
  const c = { t: NOW_S * 1000 };
  const { auth, state } = setup([k1.jwk], { now: () => c.t });
  assert.ok(await auth.authenticateToken(await sign(k1, boundClaims())));
  assert.equal(state.fetches, 1);

  state.keys = [k1.jwk, k2.jwk]; // the cluster rotated in a new key
  c.t += 10_000;
  assert.ok(await auth.authenticateToken(await sign(k2, boundClaims())));
  assert.equal(state.fetches, 2);

  // k3 is unknown and the last fetch was just now: no new fetch, rejected
  const t3 = await sign(k3, boundClaims());
  await assert.rejects(async () => auth.authenticateToken(t3), /no keys found/);
  assert.equal(state.fetches, 2);

  c.t += 10_000;
  state.keys = [k1.jwk, k2.jwk, k3.jwk];
  assert.ok(await auth.authenticateToken(t3));
  assert.equal(state.fetches, 3);
});

test('concurrent tokens with an unknown kid share one fetch', async () => {
  const k1 = await signingKey('ES256', 'k1');
  const { auth, state } = setup([k1.jwk]);
  const token = await sign(k1, boundClaims());
  const results = await Promise.all(Array.from({ length: 20 }, () => auth.authenticateToken(token)));
  assert.ok(results.every((r) => r !== null));
  assert.equal(state.fetches, 1);
});

test('the key set is refetched after refreshMs (5 min by default)', async () => {
  const k1 = await signingKey('ES256', 'k1');
  const c = { t: NOW_S * 1000 };
  const { auth, state } = setup([k1.jwk], { now: () => c.t });
  assert.equal(auth.refreshMs, 300_000);
  const token = await sign(k1, boundClaims({ exp: NOW_S + 7200 }));
  await auth.authenticateToken(token);
  c.t += 300_000;
  await auth.authenticateToken(token);
  assert.equal(state.fetches, 1);
  c.t += 1;
  await auth.authenticateToken(token);
  assert.equal(state.fetches, 2);
});

test('without any key set (JWKS unreachable) tokens fall through to TokenReview', async () => {
  const k1 = await signingKey('ES256', 'k1');
  const c = { t: NOW_S * 1000 };
  const { auth, state } = setup([k1.jwk], { now: () => c.t, fail: true });
  const token = await sign(k1, boundClaims());
  assert.equal(await auth.authenticateToken(token), null);
  assert.equal(await auth.authenticateToken(token), null);
  assert.equal(state.fetches, 1); // failures are retried at most every 10 s too
  state.fail = false;
  c.t += 10_000;
  assert.ok(await auth.authenticateToken(token));
  assert.deepEqual(auth.stats(), { keys: 1, fetches: 2, fetchFailures: 1 });
});

test('a failed refresh keeps the keys already known', async () => {
  const k1 = await signingKey('ES256', 'k1');
  const c = { t: NOW_S * 1000 };
  const { auth, state } = setup([k1.jwk], { now: () => c.t });
  const token = await sign(k1, boundClaims({ exp: NOW_S + 7200 }));
  await auth.authenticateToken(token);
  state.fail = true;
  c.t += 600_000;
  assert.ok(await auth.authenticateToken(token));
  assert.equal(state.fetches, 2);
});

test('a token without kid is tried against every key', async () => {
  const k1 = await signingKey('ES256', 'k1');
  const k2 = await signingKey('ES256', 'k2');
  const { auth } = setup([k1.jwk, k2.jwk]);
  const token = await new SignJWT(boundClaims()).setProtectedHeader({ alg: 'ES256' }).sign(k2.privateKey);
  assert.ok(await auth.authenticateToken(token));
});
