import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { CorsIR, FilterIR } from '../../../../src/gatewayapi/ir.ts';
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
  type Echo,
} from './helpers.ts';

let plane: DataPlane;
let echo: Echo;
let mirror: Echo;
let slowMirror: Echo;
let port = 0;

function cors(path: string, c: Partial<CorsIR>) {
  const filter: FilterIR = {
    type: 'CORS',
    cors: {
      allowOrigins: [],
      allowMethods: [],
      allowHeaders: [],
      exposeHeaders: [],
      allowCredentials: false,
      maxAge: 5,
      ...c,
    },
  };
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    filters: [filter],
    backends: [backend('echo')],
  });
}

function mirrored(path: string, mirrors: [string, number][]) {
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    filters: mirrors.map(([c, percent]): FilterIR => ({
      type: 'RequestMirror',
      mirror: { cluster: c, percent },
    })),
    backends: [backend('echo')],
  });
}

before(async () => {
  echo = await startEcho('echo');
  mirror = await startEcho('mirror');
  // Answers only after a long while: the request itself must not wait for it.
  slowMirror = await startEcho('slow', (_req, res) => {
    setTimeout(() => res.end('late'), 3000).unref();
    return true;
  });
  port = await freePort();
  plane = new DataPlane({ log: silent });
  await plane.apply(
    simpleIR(
      port,
      [
        cors('/cors-1', {
          allowOrigins: ['https://www.foo.com', 'https://*.bar.com'],
          allowMethods: ['GET', 'OPTIONS'],
          allowHeaders: ['x-header-1', 'x-header-2'],
          exposeHeaders: ['x-header-3', 'x-header-4'],
          allowCredentials: true,
          maxAge: 3600,
        }),
        cors('/cors-wildcard', {
          allowOrigins: ['*'],
          allowMethods: ['*'],
          allowHeaders: ['*'],
          allowCredentials: true,
        }),
        mirrored('/mirror', [['mirror', 100]]),
        mirrored('/never', [['mirror', 0]]),
        mirrored('/slow', [['slow', 100]]),
        mirrored('/dead', [['dead', 100]]),
      ],
      [
        cluster('echo', [echo.port]),
        cluster('mirror', [mirror.port]),
        cluster('slow', [slowMirror.port]),
        cluster('dead', [await freePort()]),
      ],
    ),
  );
});

after(async () => {
  await plane.close();
  await Promise.all([echo.close(), mirror.close(), slowMirror.close()]);
});

const preflight = (path: string, origin: string, extra: Record<string, string> = {}) =>
  send(port, {
    method: 'OPTIONS',
    path,
    headers: { origin, 'access-control-request-method': 'GET', ...extra },
  });

test('a preflight from an allowed origin is answered by the gateway with the allow headers', async () => {
  for (const origin of ['https://www.foo.com', 'https://www.bar.com', 'https://xpto.www.bar.com']) {
    const a = await preflight('/cors-1', origin, {
      'access-control-request-headers': 'x-header-1, x-header-2',
    });
    assert.equal(a.status, 204);
    assert.equal(a.echo, null);
    assert.equal(a.headers['access-control-allow-origin'], origin);
    assert.equal(a.headers['access-control-allow-methods'], 'GET, OPTIONS');
    assert.equal(a.headers['access-control-allow-headers'], 'x-header-1, x-header-2');
    assert.equal(a.headers['access-control-expose-headers'], 'x-header-3, x-header-4');
    assert.equal(a.headers['access-control-max-age'], '3600');
    assert.equal(a.headers['access-control-allow-credentials'], 'true');
  }
  assert.equal(echo.seen.filter((e) => e.method === 'OPTIONS').length, 0);
});

test('a preflight from another origin gets no CORS headers and never reaches the backend', async () => {
  for (const origin of [
    'https://foobar.com',
    'http://www.foo.com',
    'https://www.foo.com:8443',
    'https://bar.com',
  ]) {
    const a = await preflight('/cors-1', origin);
    assert.equal(a.status, 204);
    assert.equal(a.headers['access-control-allow-origin'], undefined, origin);
  }
  assert.equal(echo.seen.filter((e) => e.method === 'OPTIONS').length, 0);
});

test('wildcards with credentials echo the origin, the method and the headers asked for', async () => {
  const a = await send(port, {
    method: 'OPTIONS',
    path: '/cors-wildcard',
    headers: {
      origin: 'https://other.foo.com',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'x-header-1, x-header-2',
    },
  });
  assert.equal(a.headers['access-control-allow-origin'], 'https://other.foo.com');
  assert.equal(a.headers['access-control-allow-methods'], 'PUT');
  assert.equal(a.headers['access-control-allow-headers'], 'x-header-1, x-header-2');
  assert.equal(a.headers['access-control-allow-credentials'], 'true');
});

test('an actual request from an allowed origin is forwarded and answered with the CORS headers', async () => {
  const ok = await send(port, { path: '/cors-1', headers: { origin: 'https://www.bar.com' } });
  assert.equal(ok.echo?.server, 'echo');
  assert.equal(ok.headers['access-control-allow-origin'], 'https://www.bar.com');
  assert.equal(ok.headers['access-control-allow-credentials'], 'true');
  assert.equal(ok.headers['access-control-expose-headers'], 'x-header-3, x-header-4');
  assert.match(String(ok.headers.vary), /Origin/);
  const other = await send(port, { path: '/cors-1', headers: { origin: 'https://foobar.com' } });
  assert.equal(other.echo?.server, 'echo');
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});

test('the mirror backend receives a copy of the request, body and headers included', async () => {
  const a = await send(port, {
    method: 'POST',
    path: '/mirror/one?x=1',
    body: 'payload',
    headers: { 'x-id': '7' },
  });
  assert.equal(a.echo?.server, 'echo');
  for (let i = 0; i < 100 && !mirror.seen.some((e) => e.path === '/mirror/one?x=1'); i++) await sleep(10);
  const copy = mirror.seen.find((e) => e.path === '/mirror/one?x=1');
  assert.ok(copy, 'the mirror got the request');
  assert.equal(copy.method, 'POST');
  assert.equal(copy.body, 'payload');
  assert.equal(copy.headers['x-id'], '7');
});

test('a 0% mirror sends nothing', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await send(port, { path: '/never' })).status, 200);
  await sleep(50);
  assert.equal(mirror.seen.filter((e) => e.path === '/never').length, 0);
});

test('a slow or dead mirror neither delays nor fails the request', async () => {
  const t0 = performance.now();
  const slow = await send(port, { path: '/slow' });
  assert.equal(slow.status, 200);
  assert.ok(performance.now() - t0 < 1000, 'not held up by the mirror');
  assert.equal((await send(port, { path: '/dead' })).status, 200);
});
