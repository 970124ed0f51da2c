// TrafficPolicy `jwt` with `jwks.remote`: the data plane fetches the key set over real HTTPS (the
// certificate checked against the process's default CAs, to which the test adds its own CA), keeps
// the last good keys when the issuer fails, fetches again for a rotated-in kid, and never trusts
// a server whose certificate it cannot verify.

import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { mkdtemp } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import { RemoteJWKS } from '../../../../src/gatewayapi/dataplane/policies/remote-jwks.ts';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import { createCA, issueCert } from '../../../../src/dev/pki.ts';
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

const ISSUER = 'https://remote-issuer.test';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const first = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rotated = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (k: KeyObject, kid: string) => ({ ...k.export({ format: 'jwk' }), kid });

function token(key: KeyObject, kid: string): string {
  const claims = { iss: ISSUER, sub: 'alice', exp: Math.floor(Date.now() / 1000) + 300 };
  const head = `${b64({ alg: 'ES256', kid })}.${b64(claims)}`;
  return `${head}.${sign('sha256', Buffer.from(head), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** What the issuer's JWKS endpoint answers, changed by the tests. */
const issuer = { status: 200, body: JSON.stringify({ keys: [jwk(first.publicKey, 'k1')] }), hits: 0 };
let dir = '';
let trusted: Server;
let untrusted: Server;
let plane: DataPlane;
let echo: Echo;
let port = 0;
let trustedURL = '';
let untrustedURL = '';

async function serve(cert: { cert: string; key: string }, count: boolean): Promise<Server> {
  const s = createServer({ cert: await readFile(cert.cert), key: await readFile(cert.key) }, (_req, res) => {
    if (count) issuer.hits++;
    res.writeHead(issuer.status, { 'content-type': 'application/json' });
    res.end(issuer.body);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

function at(path: string, url: string): ReturnType<typeof route> {
  const trafficPolicy: TrafficPolicyIR = {
    policies: ['default/p'],
    ipFilter: null,
    requestBodyLimit: null,
    basicAuth: null,
    apiKeyAuth: null,
    jwt: {
      providers: [
        {
          issuer: ISSUER,
          audiences: [],
          keys: [],
          remote: { url, refreshMs: 1000 },
          claimsToHeaders: [{ claim: 'sub', header: 'x-user' }],
          requiredClaims: {},
        },
      ],
      header: 'authorization',
      queryParam: null,
    },
  };
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    backends: [backend('echo')],
    trafficPolicy,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-remote-jwks-'));
  const ca = await createCA(dir, 'ca', 'remote-jwks-test-ca');
  const stranger = await createCA(dir, 'stranger', 'not-trusted-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const good = await issueCert(dir, 'issuer', ca, { cn: 'issuer', usage: 'server', ...local });
  const bad = await issueCert(dir, 'impostor', stranger, { cn: 'issuer', usage: 'server', ...local });
  setDefaultCACertificates([...getCACertificates('default'), await readFile(ca.cert, 'utf8')]);
  trusted = await serve(good, true);
  untrusted = await serve(bad, false);
  trustedURL = `https://localhost:${(trusted.address() as AddressInfo).port}/jwks`;
  untrustedURL = `https://localhost:${(untrusted.address() as AddressInfo).port}/jwks`;
  echo = await startEcho('echo');
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply({
    ports: [
      httpPort(port, [
        listener('http', null, [vhost('*', [at('/remote', trustedURL), at('/impostor', untrustedURL)])]),
      ]),
    ],
    clusters: { echo: cluster('echo', [echo.port]) },
  });
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await echo.close();
  for (const s of [trusted, untrusted]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await rm(dir, { recursive: true, force: true });
});

/** Polls `/path` with `t` until it answers `want` (the key set is fetched in the background). */
async function eventually(path: string, t: string, want: number, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await send(port, { path, headers: { authorization: `Bearer ${t}` } })).status;
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${path}: ${last} instead of ${want} after ${timeoutMs} ms`);
}

test('a token signed by a key of the remote set gets through once the set is fetched', async () => {
  await eventually('/remote', token(first.privateKey, 'k1'), 200);
  assert.ok(issuer.hits >= 1);
  assert.equal(RemoteJWKS.of(trustedURL, 1000).lastError, null);
});

test('a failing or garbled issuer keeps the last good keys', async () => {
  await eventually('/remote', token(first.privateKey, 'k1'), 200);
  const hits = issuer.hits;
  issuer.status = 500;
  issuer.body = 'oops';
  // Past the refresh interval: every request triggers at most one fetch, all fail, tokens still pass.
  for (let i = 0; i < 25; i++) {
    const r = await send(port, {
      path: '/remote',
      headers: { authorization: `Bearer ${token(first.privateKey, 'k1')}` },
    });
    assert.equal(r.status, 200);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(issuer.hits > hits, 'the set was fetched again');
  assert.ok(issuer.hits - hits <= 4, `fetched ${issuer.hits - hits} times in 2.5 s`);
  assert.match(RemoteJWKS.of(trustedURL, 1000).lastError ?? '', /HTTP 500/);
  issuer.status = 200;
  issuer.body = JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k1' }] });
  await new Promise((r) => setTimeout(r, 1500));
  await eventually('/remote', token(first.privateKey, 'k1'), 200);
});

test('a rotated-in kid makes the data plane fetch the set again; the removed key stops working', async () => {
  issuer.status = 200;
  issuer.body = JSON.stringify({ keys: [jwk(rotated.publicKey, 'k2')] });
  await eventually('/remote', token(rotated.privateKey, 'k2'), 200);
  await eventually('/remote', token(first.privateKey, 'k1'), 401);
});

test('a JWKS server whose certificate does not verify is never trusted', async () => {
  for (let i = 0; i < 10; i++) {
    const r = await send(port, {
      path: '/impostor',
      headers: { authorization: `Bearer ${token(first.privateKey, 'k1')}` },
    });
    assert.equal(r.status, 401);
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.match(RemoteJWKS.of(untrustedURL, 1000).lastError ?? '', /certificate/i);
});
