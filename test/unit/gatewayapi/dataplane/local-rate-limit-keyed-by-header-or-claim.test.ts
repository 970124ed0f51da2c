// TrafficPolicy `localRateLimit.key` in the data plane: buckets per header value or per claim of the
// verified JWT instead of per client address; requests without the header or claim share one bucket,
// and a claim-keyed bucket is taken only once the token is verified.

import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { LocalRateLimitIR, TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import {
  backend,
  cluster,
  freePort,
  httpPort,
  listener,
  match,
  route,
  send,
  silent,
  startEcho,
  vhost,
  type Echo,
} from './helpers.ts';

const ISSUER = 'https://issuer.test';
const KEYS = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function token(claims: Record<string, unknown>): string {
  const head = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ iss: ISSUER, ...claims })}`;
  return `${head}.${sign('sha256', Buffer.from(head), KEYS.privateKey).toString('base64url')}`;
}

function at(path: string, limit: Omit<LocalRateLimitIR, 'bucket'>, jwt: boolean) {
  const trafficPolicy: TrafficPolicyIR = {
    policies: ['default/p'],
    ipFilter: null,
    requestBodyLimit: null,
    basicAuth: null,
    apiKeyAuth: null,
    localRateLimit: { bucket: `default/p@${path}`, ...limit },
    ...(jwt
      ? {
          jwt: {
            header: 'authorization',
            queryParam: null,
            providers: [
              {
                issuer: ISSUER,
                audiences: [],
                keys: [{ ...KEYS.publicKey.export({ format: 'jwk' }), kid: 'k1' }],
                claimsToHeaders: [],
                requiredClaims: {},
              },
            ],
          },
        }
      : {}),
  };
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    backends: [backend('echo')],
    trafficPolicy,
  });
}

// Two tokens an hour: a refusal here is the bucket, never a refill.
const TWO = { tokens: 2, fillIntervalMs: 3_600_000 };
let plane: DataPlane;
let echo: Echo;
let port = 0;

before(async () => {
  echo = await startEcho('echo');
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply({
    ports: [
      httpPort(port, [
        listener('http', null, [
          vhost('*', [
            at('/header', { ...TWO, key: { type: 'Header', header: 'x-tenant' } }, false),
            at('/claim', { ...TWO, key: { type: 'Claim', claim: 'sub' } }, true),
            at('/address', TWO, false),
          ]),
        ]),
      ]),
    ],
    clusters: { echo: cluster('echo', [echo.port]) },
  });
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await echo.close();
});

const statuses = async (n: number, opts: Parameters<typeof send>[1]) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(port, opts)).status);
  return out;
};

test('a header-keyed limit gives each header value its own bucket, and one shared bucket to requests without it', async () => {
  assert.deepEqual(await statuses(3, { path: '/header', headers: { 'x-tenant': 'a' } }), [200, 200, 429]);
  // Same client address, another tenant: a full bucket.
  assert.deepEqual(await statuses(3, { path: '/header', headers: { 'x-tenant': 'b' } }), [200, 200, 429]);
  const missing = await statuses(2, { path: '/header' });
  const empty = await statuses(1, { path: '/header', headers: { 'x-tenant': '' } });
  assert.deepEqual([...missing, ...empty], [200, 200, 429]);
  const r = await send(port, { path: '/header', headers: { 'x-tenant': 'a' } });
  assert.equal(r.status, 429);
  assert.match(String(r.headers['retry-after']), /^[0-9]+$/);
});

test('a claim-keyed limit takes tokens per verified claim, after the token check', async () => {
  const alice = { authorization: `Bearer ${token({ sub: 'alice' })}` };
  const bob = { authorization: `Bearer ${token({ sub: 'bob' })}` };
  // Refused tokens (forged, missing) cost nothing: 401 before the bucket.
  const forged = `Bearer ${token({ sub: 'alice' }).slice(0, -4)}AAAA`;
  assert.deepEqual(
    await statuses(3, { path: '/claim', headers: { authorization: forged } }),
    [401, 401, 401],
  );
  assert.deepEqual(await statuses(2, { path: '/claim' }), [401, 401]);
  assert.deepEqual(await statuses(3, { path: '/claim', headers: alice }), [200, 200, 429]);
  assert.deepEqual(await statuses(3, { path: '/claim', headers: bob }), [200, 200, 429]);
  // Verified tokens without the claim share one bucket.
  const anon1 = { authorization: `Bearer ${token({ nosub: 1 })}` };
  const anon2 = { authorization: `Bearer ${token({ nosub: 2 })}` };
  assert.deepEqual(
    [
      ...(await statuses(2, { path: '/claim', headers: anon1 })),
      ...(await statuses(1, { path: '/claim', headers: anon2 })),
    ],
    [200, 200, 429],
  );
});

test('without a key the bucket is the client address, as before', async () => {
  assert.deepEqual(await statuses(3, { path: '/address', headers: { 'x-tenant': 'c' } }), [200, 200, 429]);
  assert.deepEqual(await statuses(1, { path: '/address', headers: { 'x-tenant': 'd' } }), [429]);
});
