// A TrafficPolicy's `cors` in the data plane: served by the HTTPRoute CORS filter's code, preflights
// answered by the gateway before any credential check, and a route's own CORS filter wins.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { CorsIR, TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
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
  trafficPolicy,
  type Echo,
} from './helpers.ts';

const sha1 = (s: string) => createHash('sha1').update(s).digest('base64');
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

const POLICY_CORS: CorsIR = {
  allowOrigins: ['https://app.example.com', 'https://*.example.org'],
  allowMethods: ['GET', 'PUT'],
  allowHeaders: ['authorization', 'x-trace'],
  exposeHeaders: ['x-served-by'],
  allowCredentials: true,
  maxAge: 600,
};

let plane: DataPlane;
let echo: Echo;
let port = 0;

before(async () => {
  echo = await startEcho('echo');
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const at = (path: string, p: Partial<TrafficPolicyIR>, filterCors?: CorsIR) =>
    route(path, {
      match: match({ path: { type: 'PathPrefix', value: path } }),
      backends: [backend('echo')],
      filters: filterCors === undefined ? [] : [{ type: 'CORS', cors: filterCors }],
      trafficPolicy: trafficPolicy(p),
    });
  const { failed } = await plane.apply(
    simpleIR(
      port,
      [
        at('/guarded', { cors: POLICY_CORS, basicAuth: { realm: 'apps', users: { alice: sha1('secret') } } }),
        at(
          '/own-filter',
          { cors: POLICY_CORS },
          { ...POLICY_CORS, allowOrigins: ['https://own.example.net'] },
        ),
        at('/auth-only', { basicAuth: { realm: 'apps', users: { alice: sha1('secret') } } }),
      ],
      [cluster('echo', [echo.port])],
    ),
  );
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await echo.close();
});

const preflight = (path: string, origin: string) =>
  send(port, {
    method: 'OPTIONS',
    path,
    headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-trace' },
  });

test('a preflight is answered with the policy allow headers before basicAuth, never reaching the backend', async () => {
  for (const origin of ['https://app.example.com', 'https://eu.shop.example.org']) {
    const a = await preflight('/guarded', origin);
    assert.equal(a.status, 204);
    assert.equal(a.headers['www-authenticate'], undefined);
    assert.equal(a.headers['access-control-allow-origin'], origin);
    assert.equal(a.headers['access-control-allow-methods'], 'GET, PUT');
    assert.equal(a.headers['access-control-allow-headers'], 'authorization, x-trace');
    assert.equal(a.headers['access-control-expose-headers'], 'x-served-by');
    assert.equal(a.headers['access-control-allow-credentials'], 'true');
    assert.equal(a.headers['access-control-max-age'], '600');
    assert.equal(a.headers.vary, 'Origin');
  }
  assert.equal(echo.seen.filter((e) => e.method === 'OPTIONS').length, 0);
});

test('a preflight from an origin not allowed gets no CORS headers', async () => {
  for (const origin of [
    'https://evil.example.com',
    'http://app.example.com',
    'https://example.org',
    'null',
  ]) {
    const a = await preflight('/guarded', origin);
    assert.equal(a.status, 204);
    assert.equal(a.headers['access-control-allow-origin'], undefined, origin);
    assert.equal(a.headers['access-control-allow-methods'], undefined, origin);
  }
  assert.equal(echo.seen.filter((e) => e.method === 'OPTIONS').length, 0);
});

test('only preflights skip the credential check: an actual request still needs basicAuth', async () => {
  const origin = 'https://app.example.com';
  const refused = await send(port, { method: 'PUT', path: '/guarded', headers: { origin } });
  assert.equal(refused.status, 401);
  const ok = await send(port, {
    method: 'PUT',
    path: '/guarded',
    headers: { origin, authorization: basic('alice', 'secret') },
  });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], origin);
  assert.equal(ok.headers['access-control-allow-credentials'], 'true');
  assert.equal(ok.headers['access-control-expose-headers'], 'x-served-by');
  const other = await send(port, {
    path: '/guarded',
    headers: { origin: 'https://evil.example.com', authorization: basic('alice', 'secret') },
  });
  assert.equal(other.status, 200);
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});

test('without a CORS policy an OPTIONS request with CORS headers is not a preflight: basicAuth applies', async () => {
  const a = await preflight('/auth-only', 'https://app.example.com');
  assert.equal(a.status, 401);
  assert.equal(a.headers['access-control-allow-origin'], undefined);
});

test("a route's own CORS filter wins over the policy's", async () => {
  const own = await preflight('/own-filter', 'https://own.example.net');
  assert.equal(own.headers['access-control-allow-origin'], 'https://own.example.net');
  const policyOrigin = await preflight('/own-filter', 'https://app.example.com');
  assert.equal(policyOrigin.status, 204);
  assert.equal(policyOrigin.headers['access-control-allow-origin'], undefined);
});
