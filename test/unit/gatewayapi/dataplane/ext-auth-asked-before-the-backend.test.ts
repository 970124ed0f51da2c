// TrafficPolicy `extAuth` in the data plane against a real ext-auth HTTP server: only a 2xx answer
// lets a request reach the backend; a denial reaches the client as the service gave it; a slow,
// down or missing service gets 403 (or lets the request through with failOpen), never a crash.

import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { ExtAuthIR, TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
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

interface Asked {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

const asked: Asked[] = [];
const held: ServerResponse[] = [];

/** The ext-auth service: decides by the path it is asked about (behind `/auth`). */
function decide(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  if (url.startsWith('/auth/slow')) {
    held.push(res); // never answers
    return;
  }
  if (url.startsWith('/auth/deny')) {
    res.writeHead(401, {
      'www-authenticate': 'Bearer realm="ext"',
      'set-cookie': ['a=1', 'b=2'],
      'x-internal': 'secret',
      'content-type': 'text/plain',
    });
    res.end('go away: ext-auth says no');
    return;
  }
  if (url.startsWith('/auth/fivexx')) {
    res.writeHead(503, { 'retry-after': '7' });
    res.end('auth busy');
    return;
  }
  if (url.startsWith('/auth/redirect')) {
    res.writeHead(302, { location: 'https://login.example.com/?r=1' });
    res.end();
    return;
  }
  if (url.startsWith('/auth/huge')) {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end(Buffer.alloc(200 * 1024, 'x'));
    return;
  }
  if (req.headers.authorization !== 'Bearer good') {
    res.writeHead(403);
    res.end('no');
    return;
  }
  const headers: Record<string, string> = { 'x-auth-internal': 'not forwarded' };
  if (!url.startsWith('/auth/anon')) headers['x-user'] = 'alice';
  res.writeHead(url.startsWith('/auth/created') ? 201 : 200, headers);
  res.end('allowed, and this body is dropped');
}

function extAuth(e: Partial<ExtAuthIR> = {}): ExtAuthIR {
  return {
    cluster: 'auth',
    pathPrefix: '/auth',
    allowedHeaders: ['authorization', 'cookie'],
    headersToBackend: ['x-user'],
    timeoutMs: 2000,
    failOpen: false,
    ...e,
  };
}

function at(path: string, e: ExtAuthIR) {
  const trafficPolicy: TrafficPolicyIR = {
    policies: ['default/p'],
    ipFilter: null,
    requestBodyLimit: null,
    basicAuth: null,
    apiKeyAuth: null,
    extAuth: e,
  };
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    backends: [backend('echo')],
    trafficPolicy,
  });
}

let plane: DataPlane;
let echo: Echo;
let auth: Server;
let port = 0;

before(async () => {
  echo = await startEcho('echo');
  auth = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      asked.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes });
      decide(req, res);
    });
  });
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
  const authPort = (auth.address() as AddressInfo).port;
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply({
    ports: [
      httpPort(port, [
        listener('http', null, [
          vhost('*', [
            at('/slow-open', extAuth({ timeoutMs: 200, failOpen: true })),
            at('/fivexx-open', extAuth({ failOpen: true })),
            at('/slow', extAuth({ timeoutMs: 200 })),
            at('/down-open', extAuth({ cluster: 'down', failOpen: true })),
            at('/down', extAuth({ cluster: 'down' })),
            at('/empty', extAuth({ cluster: 'empty' })),
            at('/invalid', extAuth({ cluster: null })),
            at('/', extAuth()),
          ]),
        ]),
      ]),
    ],
    clusters: {
      echo: cluster('echo', [echo.port]),
      auth: cluster('auth', [authPort]),
      down: cluster('down', [await freePort()]),
      empty: cluster('empty', []),
    },
  });
  assert.deepEqual(failed, []);
});

after(async () => {
  for (const res of held) res.destroy();
  await plane.close();
  await echo.close();
  auth.closeAllConnections();
  await new Promise<void>((r) => auth.close(() => r()));
});

const last = () => asked[asked.length - 1];

test('an allowed request reaches the backend with the answer’s headers, the client’s forged copies removed', async () => {
  const r = await send(port, {
    path: '/app/a?q=1',
    host: 'shop.example',
    headers: { authorization: 'Bearer good', cookie: 's=1', 'x-user': 'mallory', 'x-other': 'kept' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.echo?.headers['x-user'], 'alice');
  assert.equal(r.echo?.rawHeaders.filter((h) => h.toLowerCase() === 'x-user').length, 1);
  assert.equal(r.echo?.headers['x-auth-internal'], undefined);
  assert.equal(r.echo?.headers['x-other'], 'kept');
  assert.equal(r.echo?.path, '/app/a?q=1');

  const a = last();
  assert.equal(a.method, 'GET');
  assert.equal(a.url, '/auth/app/a?q=1');
  assert.equal(a.headers.host, 'shop.example');
  assert.equal(a.headers.authorization, 'Bearer good');
  assert.equal(a.headers.cookie, 's=1');
  assert.equal(a.headers['x-forwarded-host'], 'shop.example');
  assert.equal(a.headers['x-forwarded-uri'], '/app/a?q=1');
  assert.equal(a.headers['x-forwarded-method'], 'GET');
  assert.equal(a.headers['x-forwarded-proto'], 'http');
  assert.equal(a.headers['x-forwarded-for'], '127.0.0.1');
  // Only the allowed headers go to the service.
  assert.equal(a.headers['x-other'], undefined);
  assert.equal(a.headers['x-user'], undefined);
});

test('any 2xx allows; without the header in the answer the client’s forged copy is still removed', async () => {
  const r = await send(port, {
    path: '/anon',
    headers: { authorization: 'Bearer good', 'x-user': 'mallory' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.echo?.headers['x-user'], undefined);
  const c = await send(port, { path: '/created', headers: { authorization: 'Bearer good' } });
  assert.equal(c.status, 200);
  assert.equal(c.echo?.headers['x-user'], 'alice');
});

test('a POST body is forwarded after the check but never sent to the service', async () => {
  const r = await send(port, {
    method: 'POST',
    path: '/upload',
    headers: { authorization: 'Bearer good' },
    body: 'payload-bytes',
  });
  assert.equal(r.status, 200);
  assert.equal(r.echo?.body, 'payload-bytes');
  assert.equal(last().method, 'POST');
  assert.equal(last().bodyBytes, 0);
});

test('a denial reaches the client with its status, body and challenge headers, and not the backend', async () => {
  const before = echo.seen.length;
  const r = await send(port, { path: '/deny/x', headers: { authorization: 'Bearer good' } });
  assert.equal(r.status, 401);
  assert.equal(r.body, 'go away: ext-auth says no');
  assert.equal(r.headers['www-authenticate'], 'Bearer realm="ext"');
  assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(r.headers['x-internal'], undefined);
  const redirect = await send(port, { path: '/redirect' });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.location, 'https://login.example.com/?r=1');
  const wrong = await send(port, { path: '/app', headers: { authorization: 'Bearer bad' } });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.body, 'no');
  assert.equal(echo.seen.length, before);
});

test('a 5xx answer is a denial passed to the client, failOpen or not', async () => {
  const before = echo.seen.length;
  const r = await send(port, { path: '/fivexx-open', headers: { authorization: 'Bearer good' } });
  assert.equal(r.status, 503);
  assert.equal(r.body, 'auth busy');
  assert.equal(r.headers['retry-after'], undefined);
  assert.equal(echo.seen.length, before);
});

test('a client that leaves while the service is asked does not disturb the data plane', async () => {
  const waiting = held.length;
  const req = request({ host: '127.0.0.1', port, path: '/slow', agent: false });
  req.on('error', () => undefined);
  req.end();
  // Once the service holds the question, the client goes away.
  while (held.length === waiting) await new Promise((r) => setTimeout(r, 10));
  req.destroy();
  const r = await send(port, { path: '/app', headers: { authorization: 'Bearer good' } });
  assert.equal(r.status, 200);
});

test('a denial body is cut at 64 KiB', async () => {
  const r = await send(port, { path: '/huge' });
  assert.equal(r.status, 403);
  assert.equal(r.body.length, 64 * 1024);
  assert.equal(r.headers['content-length'], String(64 * 1024));
});

test('a service that does not answer in time gets 403, or lets the request through with failOpen', async () => {
  const before = echo.seen.length;
  const r = await send(port, { path: '/slow', headers: { authorization: 'Bearer good' } });
  assert.equal(r.status, 403);
  assert.match(r.body, /authorization service did not answer/);
  assert.equal(echo.seen.length, before);
  const open = await send(port, { path: '/slow-open' });
  assert.equal(open.status, 200);
  assert.equal(open.echo?.path, '/slow-open');
});

test('a service that is down, has no endpoint or is not a valid reference gets 403; failOpen lets a down one through', async () => {
  const before = echo.seen.length;
  for (const path of ['/down', '/empty', '/invalid']) {
    const r = await send(port, { path, headers: { authorization: 'Bearer good', 'x-user': 'mallory' } });
    assert.equal(r.status, 403, path);
  }
  assert.equal(echo.seen.length, before);
  const open = await send(port, { path: '/down-open', headers: { 'x-user': 'mallory' } });
  assert.equal(open.status, 200);
  // Let through without an answer: still no forged identity.
  assert.equal(open.echo?.headers['x-user'], undefined);
});

test('many requests at once to a slow service all get 403 and the data plane keeps serving', async () => {
  const answers = await Promise.all(Array.from({ length: 20 }, () => send(port, { path: '/slow' })));
  assert.deepEqual(
    answers.map((a) => a.status),
    answers.map(() => 403),
  );
  const r = await send(port, { path: '/app', headers: { authorization: 'Bearer good' } });
  assert.equal(r.status, 200);
});
