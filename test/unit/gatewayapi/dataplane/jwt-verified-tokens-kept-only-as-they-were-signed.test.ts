// The jwt policy keeps tokens whose signature it verified for a short while, so a client sending the
// same token on every request is not verified again each time. What is kept is the exact token:
// another signature over the same header and claims is checked afresh, and a kept token's times,
// audience and required claims are still checked on every request.

import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { JWTAuth } from '../../../../src/gatewayapi/dataplane/policies/jwt-auth.ts';

const ISSUER = 'https://issuer.test';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function token(claims: Record<string, unknown>): string {
  const head = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64(claims)}`;
  return `${head}.${sign('sha256', Buffer.from(head), privateKey).toString('base64url')}`;
}

const request = (t: string) =>
  ({ headers: { authorization: `Bearer ${t}` }, url: '/' }) as unknown as IncomingMessage;

function auth(requiredClaims: Record<string, string[]> = {}): JWTAuth {
  return new JWTAuth({
    header: 'authorization',
    queryParam: null,
    providers: [
      {
        issuer: ISSUER,
        audiences: ['api'],
        keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }],
        claimsToHeaders: [],
        requiredClaims,
      },
    ],
  });
}

const admitted = (r: ReturnType<JWTAuth['check']>) => !('status' in r);
const status = (r: ReturnType<JWTAuth['check']>) => ('status' in r ? r.status : 200);

test('a kept token with another signature over the same claims is refused', () => {
  const a = auth();
  const now = 1_000_000;
  const good = token({ iss: ISSUER, aud: 'api', exp: now + 600 });
  assert.ok(admitted(a.check(request(good), now)));
  const [head, body, sig] = good.split('.');
  const other = Buffer.from(sig, 'base64url');
  other[0] ^= 1;
  assert.equal(status(a.check(request(`${head}.${body}.${other.toString('base64url')}`), now)), 401);
  assert.equal(status(a.check(request(`${head}.${body}.`), now)), 401);
  assert.ok(admitted(a.check(request(good), now + 1)), 'the good token still passes');
});

test('a kept token is refused once it expires, and its audience and required claims still count', () => {
  const now = 2_000_000;
  const a = auth({ group: ['admins'] });
  const admin = token({ iss: ISSUER, aud: 'api', exp: now + 10, group: 'admins' });
  assert.ok(admitted(a.check(request(admin), now)));
  assert.ok(admitted(a.check(request(admin), now + 5)));
  // exp + the 60 s leeway passed: refused although its signature was verified moments ago.
  assert.equal(status(a.check(request(admin), now + 71)), 401);

  const user = token({ iss: ISSUER, aud: 'api', exp: now + 600, group: 'users' });
  assert.equal(status(a.check(request(user), now)), 403);
  assert.equal(status(a.check(request(user), now + 1)), 403, 'kept, still not an admin');
  const elsewhere = token({ iss: ISSUER, aud: 'other', exp: now + 600, group: 'admins' });
  assert.equal(status(a.check(request(elsewhere), now)), 401);
  assert.equal(status(a.check(request(elsewhere), now + 1)), 401);
});

test('more distinct tokens than are kept: each is still checked right', () => {
  const now = 3_000_000;
  const a = auth();
  const tokens = Array.from({ length: 5000 }, (_, i) =>
    token({ iss: ISSUER, aud: 'api', exp: now + 600, n: i }),
  );
  for (const t of tokens) assert.ok(admitted(a.check(request(t), now)));
  for (const t of tokens.slice(0, 50)) assert.ok(admitted(a.check(request(t), now + 1)));
  const forged = `${tokens[0].split('.').slice(0, 2).join('.')}.${tokens[1].split('.')[2]}`;
  assert.equal(status(a.check(request(forged), now + 1)), 401);
});
