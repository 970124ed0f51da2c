// TrafficPolicy `oidc`: a browser (a cookie jar) without a session is sent to a real OpenID
// provider over HTTPS (test/unit/gatewayapi/dataplane/oidc-provider.ts, its certificate from a
// test CA the policy's CA bundle holds), comes back to the callback, gets a sealed session cookie, and
// then reaches the backend without that cookie and with the ID token and claims. Forged, tampered,
// replayed and expired things never get through. (The listener is plain HTTP on 127.0.0.1: the
// jar sends Secure cookies there, as browsers do for localhost.)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'node:https';
import { createCA, issueCert, loadCert } from '../../../../src/dev/pki.ts';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { OIDCIR, TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import {
  backend,
  cluster,
  freePort,
  match,
  route,
  send,
  silent,
  simpleIR,
  startEcho,
  type Answer,
  type Echo,
} from './helpers.ts';
import { OIDCDiscovery } from '../../../../src/gatewayapi/dataplane/policies/oidc-discovery.ts';
import { startOIDCProvider, type OIDCProvider } from './oidc-provider.ts';

const CLIENT_ID = 'shop';
// Characters that client_secret_basic must form-encode.
const CLIENT_SECRET = 'a secret: with+symbols/!';
const HTML = { accept: 'text/html,application/xhtml+xml' };

/** A browser's cookies for the gateway's origin. */
class Jar {
  readonly cookies = new Map<string, string>();

  take(a: Answer): void {
    for (const line of a.headers['set-cookie'] ?? []) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      if (attrs.includes('Max-Age=0')) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
  }

  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

let dir = '';
let provider: OIDCProvider;
let echo: Echo;
let plane: DataPlane;
let port = 0;
let downPort = 0;
let caPEM = '';
let strangerPEM = '';
const cookieKey = randomBytes(32).toString('base64');

function oidc(o: Partial<OIDCIR> = {}): OIDCIR {
  return {
    issuer: provider.issuer,
    clientID: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectPath: '/oauth2/callback',
    logoutPath: '/logout',
    scopes: ['openid', 'email'],
    caCertificates: caPEM,
    cookieName: 'kubegate-session',
    cookieKey,
    sessionTTLMs: 3_600_000,
    forwardIDToken: 'authorization',
    claimsToHeaders: [
      { claim: 'sub', header: 'x-user' },
      { claim: 'groups', header: 'x-groups' },
    ],
    ...o,
  };
}

function at(prefix: string, o: OIDCIR): ReturnType<typeof route> {
  const trafficPolicy: TrafficPolicyIR = {
    policies: ['default/login'],
    ipFilter: null,
    requestBodyLimit: null,
    basicAuth: null,
    apiKeyAuth: null,
    oidc: o,
  };
  return route(prefix, {
    match: match({ path: { type: 'PathPrefix', value: prefix } }),
    backends: [backend('echo')],
    trafficPolicy,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-oidc-'));
  const ca = await createCA(dir, 'ca', 'oidc-test-ca');
  const cert = await issueCert(dir, 'provider', ca, {
    cn: 'provider',
    usage: 'server',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  caPEM = await readFile(ca.cert, 'utf8');
  strangerPEM = await readFile((await createCA(dir, 'stranger', 'not-the-provider-ca')).cert, 'utf8');
  provider = await startOIDCProvider({
    ...(await loadCert(cert)),
    clientID: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
  });
  echo = await startEcho('echo');
  port = await freePort();
  downPort = await freePort();
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply(
    simpleIR(
      port,
      [
        at(
          '/short',
          oidc({ cookieName: 'short-session', redirectPath: '/short/callback', sessionTTLMs: 1000 }),
        ),
        at('/broken', oidc({ issuer: '', cookieName: 'broken-session' })),
        at('/untrusted', oidc({ caCertificates: strangerPEM, redirectPath: '/untrusted/callback' })),
        at('/down', oidc({ issuer: `https://localhost:${downPort}`, redirectPath: '/down/callback' })),
        at('/', oidc()),
      ],
      [cluster('echo', [echo.port])],
    ),
  );
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await echo.close();
  await provider.close();
  await rm(dir, { recursive: true, force: true });
});

/** The browser at the provider's authorization endpoint: where it is sent back to. */
function authorizeAtProvider(url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca: caPEM, agent: false }, (res) => {
      res.resume();
      if (res.statusCode === 302 && res.headers.location !== undefined) resolve(res.headers.location);
      else reject(new Error(`the provider answered ${res.statusCode}`));
    })
      .on('error', reject)
      .end();
  });
}

/** Goes to `path` without a session, through the provider, and back to the callback. */
async function toCallback(jar: Jar, path: string): Promise<{ callbackPath: string; callback: Answer }> {
  const first = await send(port, { path, headers: { ...HTML, cookie: jar.header } });
  assert.equal(first.status, 302, first.body);
  jar.take(first);
  const authorize = new URL(first.headers.location!);
  assert.equal(authorize.origin, provider.issuer);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(authorize.searchParams.get('scope'), 'openid email');
  const back = new URL(await authorizeAtProvider(authorize));
  assert.equal(back.origin, `http://127.0.0.1:${port}`);
  const callbackPath = `${back.pathname}${back.search}`;
  const callback = await send(port, { path: callbackPath, headers: { ...HTML, cookie: jar.header } });
  return { callbackPath, callback };
}

/** A whole login: ends with the jar holding a session. */
async function logIn(jar: Jar, path: string): Promise<Answer> {
  const { callback } = await toCallback(jar, path);
  assert.equal(callback.status, 302, callback.body);
  jar.take(callback);
  return callback;
}

test('a browser logs in at the provider and the backend sees the ID token and claims, not the session cookie', async () => {
  const jar = new Jar();
  const seen = echo.seen.length;
  const callback = await logIn(jar, '/app/orders?page=2');
  assert.equal(callback.headers.location, `http://127.0.0.1:${port}/app/orders?page=2`);
  const cookie = callback.headers['set-cookie']!.find((c) => c.startsWith('kubegate-session='))!;
  for (const attr of ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']) assert.ok(cookie.includes(attr), attr);
  assert.ok(!jar.cookies.has('kubegate-session-login'), 'the login cookie is cleared');
  assert.equal(echo.seen.length, seen, 'nothing reached the backend during the login');
  assert.ok(provider.tokenRequests.at(-1)?.basicAuthOK, 'client_secret_basic with the form-encoded secret');

  const r = await send(port, {
    path: '/app/orders?page=2',
    headers: { ...HTML, cookie: `theme=dark; ${jar.header}`, 'x-user': 'mallory' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.echo?.headers.cookie, 'theme=dark');
  assert.equal(r.echo?.headers['x-user'], 'alice');
  assert.equal(r.echo?.headers['x-groups'], '["staff"]');
  const bearer = String(r.echo?.headers.authorization);
  assert.match(bearer, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  const claims = JSON.parse(Buffer.from(bearer.split('.')[1], 'base64url').toString()) as Record<
    string,
    unknown
  >;
  assert.equal(claims.iss, provider.issuer);
  assert.equal(claims.aud, CLIENT_ID);
});

test('requests that are not browser navigations get 401 instead of a redirect', async () => {
  const cases: Record<string, string>[] = [
    { accept: 'application/json' },
    {},
    { ...HTML, authorization: 'Bearer x' },
  ];
  for (const headers of cases) {
    const r = await send(port, { path: '/api', headers });
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.headers.location, undefined);
  }
  assert.equal((await send(port, { method: 'POST', path: '/api', headers: HTML, body: 'x' })).status, 401);
});

test('a tampered, foreign or garbage session cookie is no session: a fresh login, and the cookie cleared', async () => {
  const jar = new Jar();
  await logIn(jar, '/');
  const good = jar.cookies.get('kubegate-session')!;
  const flipped = `${good.slice(0, 20)}${good[20] === 'A' ? 'B' : 'A'}${good.slice(21)}`;
  const seen = echo.seen.length;
  for (const value of [flipped, good.slice(0, -4), 'garbage', '']) {
    const r = await send(port, { path: '/', headers: { ...HTML, cookie: `kubegate-session=${value}` } });
    assert.equal(r.status, 302);
    assert.ok(r.headers.location!.startsWith(`${provider.issuer}/authorize?`));
    assert.ok(
      r.headers['set-cookie']!.some((c) => c.startsWith('kubegate-session=;') && c.includes('Max-Age=0')),
    );
    const api = await send(port, { path: '/', headers: { cookie: `kubegate-session=${value}` } });
    assert.equal(api.status, 401);
  }
  // A cookie of the /short policy (another name, and sealed for it) is no session here either.
  const other = new Jar();
  await logIn(other, '/short/x');
  const foreign = other.cookies.get('short-session')!;
  const r = await send(port, { path: '/', headers: { cookie: `kubegate-session=${foreign}` } });
  assert.equal(r.status, 401);
  assert.equal(echo.seen.length, seen);
});

test('a session past its TTL is refused even when the browser still sends it', async () => {
  const jar = new Jar();
  await logIn(jar, '/short/page');
  assert.equal((await send(port, { path: '/short/page', headers: { cookie: jar.header } })).status, 200);
  await new Promise((r) => setTimeout(r, 1200));
  const r = await send(port, { path: '/short/page', headers: { ...HTML, cookie: jar.header } });
  assert.equal(r.status, 302);
  assert.ok(r.headers.location!.startsWith(`${provider.issuer}/authorize?`));
});

test("a forged, foreign or missing state, or one without this browser's login cookie, gets 403", async () => {
  const jar = new Jar();
  const first = await send(port, { path: '/', headers: HTML });
  jar.take(first);
  const state = new URL(first.headers.location!).searchParams.get('state')!;
  const cases = [
    { q: 'code=abc', cookie: jar.header },
    { q: 'code=abc&state=forged', cookie: jar.header },
    { q: `code=abc&state=${state.slice(0, -2)}xx`, cookie: jar.header },
    { q: `code=abc&state=${state}&state=${state}`, cookie: jar.header },
    // Login CSRF: an attacker's own valid state and code, in a browser that never started a login.
    { q: `code=abc&state=${state}`, cookie: '' },
  ];
  const tokens = provider.tokenRequests.length;
  for (const c of cases) {
    const r = await send(port, { path: `/oauth2/callback?${c.q}`, headers: { ...HTML, cookie: c.cookie } });
    assert.equal(r.status, 403, c.q);
    assert.ok(
      !(r.headers['set-cookie'] ?? []).some(
        (s) => s.startsWith('kubegate-session=') && !s.includes('Max-Age=0'),
      ),
    );
  }
  assert.equal(provider.tokenRequests.length, tokens, 'no code was redeemed');
});

test('a replayed callback is refused: the state is used once', async () => {
  const jar = new Jar();
  const { callbackPath, callback } = await toCallback(jar, '/');
  assert.equal(callback.status, 302);
  const loginCookie = `kubegate-session-login=${jar.cookies.get('kubegate-session-login')}`;
  const again = await send(port, { path: callbackPath, headers: { ...HTML, cookie: loginCookie } });
  assert.equal(again.status, 403);
  assert.match(again.body, /already used/);
});

test('an ID token with the wrong nonce, audience, signer or expiry makes no session', async () => {
  const cases: [string, Partial<OIDCProvider['behaviour']>][] = [
    ['nonce', { nonce: 'not-the-login' }],
    ['another client', { audience: 'other-client' }],
    ['signature', { foreignKey: true }],
    ['expired', { idTokenTTL: -3600 }],
  ];
  try {
    for (const [why, b] of cases) {
      Object.assign(provider.behaviour, b);
      const { callback } = await toCallback(new Jar(), '/');
      assert.equal(callback.status, 403, why);
      assert.ok(
        !(callback.headers['set-cookie'] ?? []).some(
          (c) => c.startsWith('kubegate-session=') && !c.includes('Max-Age=0'),
        ),
        why,
      );
      for (const k of Object.keys(b)) delete provider.behaviour[k as keyof OIDCProvider['behaviour']];
    }
  } finally {
    for (const k of Object.keys(provider.behaviour))
      delete provider.behaviour[k as keyof OIDCProvider['behaviour']];
  }
});

test('a token endpoint that fails gets 502; one that refuses the code gets 403', async () => {
  try {
    provider.behaviour.tokenStatus = 500;
    assert.equal((await toCallback(new Jar(), '/')).callback.status, 502);
    delete provider.behaviour.tokenStatus;
    provider.behaviour.tokenDrops = true;
    assert.equal((await toCallback(new Jar(), '/')).callback.status, 502);
    delete provider.behaviour.tokenDrops;
    provider.behaviour.tokenStatus = 400;
    assert.equal((await toCallback(new Jar(), '/')).callback.status, 403);
  } finally {
    delete provider.behaviour.tokenStatus;
    delete provider.behaviour.tokenDrops;
  }
  // And the provider working again: logins succeed.
  await logIn(new Jar(), '/');
});

test("the way back after a login stays on the gateway's origin", async () => {
  for (const path of ['//evil.example/x', '/\\evil.example/x', '/%2F%2Fevil.example']) {
    const jar = new Jar();
    const callback = await logIn(jar, path);
    const back = new URL(callback.headers.location!);
    assert.equal(back.origin, `http://127.0.0.1:${port}`, path);
  }
});

test('logout clears the session', async () => {
  const jar = new Jar();
  await logIn(jar, '/');
  const r = await send(port, { path: '/logout', headers: { ...HTML, cookie: jar.header } });
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, '/');
  jar.take(r);
  assert.ok(!jar.cookies.has('kubegate-session'));
  assert.equal((await send(port, { path: '/', headers: { cookie: jar.header } })).status, 401);
});

test('an unusable policy, an unreachable provider and an untrusted one fail closed', async () => {
  const seen = echo.seen.length;
  assert.equal((await send(port, { path: '/broken', headers: HTML })).status, 401);
  const down = await send(port, { path: '/down', headers: HTML });
  assert.equal(down.status, 502);
  // The provider's certificate checked against the policy's bundle, not the default CAs.
  const untrusted = await send(port, { path: '/untrusted', headers: HTML });
  assert.equal(untrusted.status, 502);
  assert.match(OIDCDiscovery.of(provider.issuer, strangerPEM).lastError ?? '', /certificate/);
  assert.equal(echo.seen.length, seen);
});
