// TrafficPolicy `jwt` in the data plane against forged tokens: every token here is made in the test
// with node:crypto keys; only a token signed by a key of the set, for the right issuer and audience,
// in time, reaches the backend, and only verified claims become headers.

import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { JWTAuthIR, JWTProviderIR, TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
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
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

interface Signer {
  alg: string;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function signer(alg: string, kid: string): Signer {
  const pair =
    alg.startsWith('RS') || alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : alg === 'ES384'
          ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
          : generateKeyPairSync('ed25519');
  return { alg, kid, ...pair };
}

function signature(s: Signer, data: Buffer): Buffer {
  const hash = s.alg === 'EdDSA' ? null : `sha${s.alg.slice(2)}`;
  if (s.alg === 'PS256') return sign('sha256', data, { key: s.privateKey, padding: 6, saltLength: 32 });
  if (s.alg.startsWith('ES')) return sign(hash, data, { key: s.privateKey, dsaEncoding: 'ieee-p1363' });
  return sign(hash, data, s.privateKey);
}

/** A compact JWS of `claims` signed by `s`; `header` overrides header members. */
function token(s: Signer, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const head = `${b64({ alg: s.alg, typ: 'JWT', kid: s.kid, ...header })}.${b64(claims)}`;
  return `${head}.${signature(s, Buffer.from(head)).toString('base64url')}`;
}

const good = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: 'api',
  sub: 'alice',
  exp: now() + 300,
  ...extra,
});

const SIGNERS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'].map((a) =>
  signer(a, `k-${a}`),
);
const RS = SIGNERS[0];
const OTHER = signer('RS256', RS.kid); // same kid, a key not in the set

function provider(p: Partial<JWTProviderIR> = {}): JWTProviderIR {
  return {
    issuer: ISSUER,
    audiences: ['api'],
    keys: SIGNERS.map((s) => ({ ...s.publicKey.export({ format: 'jwk' }), kid: s.kid })),
    claimsToHeaders: [
      { claim: 'sub', header: 'x-user' },
      { claim: 'groups', header: 'x-groups' },
    ],
    requiredClaims: {},
    ...p,
  };
}

function at(path: string, jwt: JWTAuthIR) {
  const trafficPolicy: TrafficPolicyIR = {
    policies: ['default/p'],
    ipFilter: null,
    requestBodyLimit: null,
    basicAuth: null,
    apiKeyAuth: null,
    jwt,
  };
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    backends: [backend('echo')],
    trafficPolicy,
  });
}

const ROUTES = [
  at('/jwt', { providers: [provider()], header: 'authorization', queryParam: null }),
  at('/admins', {
    providers: [provider({ requiredClaims: { groups: ['admins'] } })],
    header: 'authorization',
    queryParam: null,
  }),
  at('/query', { providers: [provider()], header: 'authorization', queryParam: 'access_token' }),
  at('/custom', { providers: [provider()], header: 'x-token', queryParam: null }),
  at('/nobody', { providers: [], header: 'authorization', queryParam: null }),
];

let plane: DataPlane;
let echo: Echo;
let port = 0;

before(async () => {
  echo = await startEcho('echo');
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply({
    ports: [httpPort(port, [listener('http', null, [vhost('*', ROUTES)])])],
    clusters: { echo: cluster('echo', [echo.port]) },
  });
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await echo.close();
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

test('a token signed by a key of the set is accepted for every algorithm and its claim forwarded', async () => {
  for (const s of SIGNERS) {
    const r = await send(port, { path: '/jwt', headers: bearer(token(s, good({ sub: `u-${s.alg}` }))) });
    assert.equal(r.status, 200, s.alg);
    assert.equal(r.echo?.headers['x-user'], `u-${s.alg}`, s.alg);
  }
  // No kid: every key of the right type is tried.
  const noKid = token(RS, good(), { kid: undefined });
  assert.equal((await send(port, { path: '/jwt', headers: bearer(noKid) })).status, 200);
  // Within the leeway (60 s) an expired token still passes.
  assert.equal(
    (await send(port, { path: '/jwt', headers: bearer(token(RS, good({ exp: now() - 30 }))) })).status,
    200,
  );
});

test('forged, tampered, expired and malformed tokens get 401 invalid_token and never reach the backend', async () => {
  const valid = token(RS, good());
  const [h, p] = valid.split('.');
  const pem = RS.publicKey.export({ format: 'pem', type: 'spki' });
  const hs = (secret: string | Buffer) => {
    const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: RS.kid })}.${b64(good())}`;
    return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
  };
  const es = SIGNERS.find((s) => s.alg === 'ES256')!;
  const esHead = `${b64({ alg: 'ES256', kid: es.kid })}.${b64(good())}`;
  const forged: Record<string, string> = {
    'alg none, no signature': `${b64({ alg: 'none' })}.${b64(good())}.`,
    'alg none with a signature': `${b64({ alg: 'none' })}.${b64(good())}.${b64('x')}`,
    'HS256 keyed with the public key PEM': hs(pem as string),
    'HS256 keyed with the JWK modulus': hs(String(RS.publicKey.export({ format: 'jwk' }).n)),
    'a kid not in the set': token(signer('RS256', 'k-unknown'), good()),
    'a key not in the set under a known kid': token(OTHER, good()),
    'a payload changed after signing': `${h}.${b64(good({ sub: 'root' }))}.${valid.split('.')[2]}`,
    expired: token(RS, good({ exp: now() - 600 })),
    'not yet valid': token(RS, good({ nbf: now() + 600 })),
    'exp not a number': token(RS, good({ exp: 'tomorrow' })),
    'a wrong issuer': token(RS, good({ iss: 'https://evil.test' })),
    'no issuer': token(RS, good({ iss: undefined })),
    'a wrong audience': token(RS, good({ aud: ['web', 'mobile'] })),
    'no audience': token(RS, good({ aud: undefined })),
    'RS256 named, signed by an EC key': token({ ...es, alg: 'ES256' }, good(), {
      alg: 'RS256',
      kid: undefined,
    }),
    'ES256 with a DER signature': `${esHead}.${sign('sha256', Buffer.from(esHead), es.privateKey).toString('base64url')}`,
    'alg __proto__': token(RS, good(), { alg: '__proto__' }),
    'alg toString': token(RS, good(), { alg: 'toString' }),
    'a crit header': token(RS, good(), { crit: ['exp'] }),
    'a kid that is not a string': token(RS, good(), { kid: 7 }),
    'malformed base64': `${h}.!!!.${valid.split('.')[2]}`,
    'a payload that is not JSON': `${h}.${b64('not json')}.${valid.split('.')[2]}`,
    'a payload that is an array': token(RS, [] as unknown as Record<string, unknown>),
    'two segments': `${h}.${p}`,
    'four segments': `${valid}.${b64('x')}`,
    'an oversized token': token(RS, good({ pad: 'x'.repeat(10_000) })),
  };
  const before = echo.seen.length;
  for (const [name, t] of Object.entries(forged)) {
    const r = await send(port, { path: '/jwt', headers: bearer(t) });
    assert.equal(r.status, 401, name);
    assert.equal(r.headers['www-authenticate'], 'Bearer error="invalid_token"', name);
  }
  assert.equal(echo.seen.length, before);
});

test('no token, or a token in another scheme, gets 401 with a Bearer challenge', async () => {
  const none = await send(port, { path: '/jwt' });
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Bearer');
  const basic = await send(port, { path: '/jwt', headers: { authorization: `Basic ${token(RS, good())}` } });
  assert.equal(basic.status, 401);
  assert.equal((await send(port, { path: '/nobody', headers: bearer(token(RS, good())) })).status, 401);
});

test("a client's own copy of a claim header is removed, and a claim with CR/LF is not copied", async () => {
  const spoof = { 'x-user': 'root', 'x-groups': '["admins"]' };
  const r = await send(port, { path: '/jwt', headers: { ...spoof, ...bearer(token(RS, good())) } });
  assert.equal(r.status, 200);
  assert.equal(r.echo?.headers['x-user'], 'alice');
  assert.equal(r.echo?.headers['x-groups'], undefined);
  const crlf = await send(port, {
    path: '/jwt',
    headers: { ...spoof, ...bearer(token(RS, good({ sub: 'eve\r\nx-admin: yes', groups: ['dev'] }))) },
  });
  assert.equal(crlf.status, 200);
  assert.equal(crlf.echo?.headers['x-user'], undefined);
  assert.equal(crlf.echo?.headers['x-admin'], undefined);
  assert.equal(crlf.echo?.headers['x-groups'], '["dev"]');
});

test('requiredClaims: a token without an allowed value gets 403, with one (also in an array) passes', async () => {
  const get = async (claims: Record<string, unknown>) =>
    (await send(port, { path: '/admins', headers: bearer(token(RS, good(claims))) })).status;
  assert.equal(await get({}), 403);
  assert.equal(await get({ groups: 'dev' }), 403);
  assert.equal(await get({ groups: { admins: true } }), 403);
  assert.equal(await get({ groups: 'admins' }), 200);
  assert.equal(await get({ groups: ['dev', 'admins'] }), 200);
});

test('the token may come in a named header or query parameter, but never twice', async () => {
  const t = token(RS, good());
  assert.equal((await send(port, { path: `/query?access_token=${t}` })).status, 200);
  assert.equal((await send(port, { path: `/query?access_token=${t}&access_token=${t}` })).status, 401);
  assert.equal((await send(port, { path: `/jwt?access_token=${t}` })).status, 401);
  assert.equal((await send(port, { path: '/custom', headers: { 'x-token': t } })).status, 200);
  assert.equal((await send(port, { path: '/custom', headers: bearer(t) })).status, 401);
});
