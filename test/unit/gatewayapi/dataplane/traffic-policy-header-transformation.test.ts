// A TrafficPolicy's `transformation` in the data plane: header set/add/remove on the request and
// the response, before the route's own header filters, with the per-request variables; a removed
// header cannot be smuggled past it in another case or as a repeated line.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
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

const TRANSFORMATION: TrafficPolicyIR['transformation'] = {
  requestHeaders: {
    set: [
      { name: 'x-env', value: 'policy' },
      { name: 'x-client', value: 'ip=%CLIENT_IP%' },
      { name: 'x-request-id', value: '%REQUEST_ID%' },
    ],
    add: [{ name: 'x-tag', value: 'policy' }],
    remove: ['x-internal'],
  },
  responseHeaders: {
    set: [{ name: 'x-request-id', value: '%REQUEST_ID%' }],
    add: [{ name: 'x-served-by', value: 'gateway' }],
    remove: ['x-backend-secret'],
  },
};

let plane: DataPlane;
let echo: Echo;
let port = 0;

before(async () => {
  echo = await startEcho('echo', (req, res) => {
    if (!req.url?.startsWith('/leaky')) return false;
    // Repeated, differently cased lines of the header the policy removes.
    res.writeHead(200, [
      'X-Backend-Secret',
      'one',
      'x-BACKEND-secret',
      'two',
      'X-Served-By',
      'backend',
      'Content-Type',
      'text/plain',
    ]);
    res.end('leaky');
    return true;
  });
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply(
    simpleIR(
      port,
      [
        route('/filtered', {
          match: match({ path: { type: 'PathPrefix', value: '/filtered' } }),
          backends: [backend('echo')],
          filters: [
            {
              type: 'RequestHeaderModifier',
              headers: {
                set: [{ name: 'x-env', value: 'route' }],
                add: [{ name: 'x-tag', value: 'route' }],
                remove: [],
              },
            },
            {
              type: 'ResponseHeaderModifier',
              headers: { set: [{ name: 'x-served-by', value: 'route' }], add: [], remove: [] },
            },
          ],
          trafficPolicy: trafficPolicy({ transformation: TRANSFORMATION }),
        }),
        route('/', {
          backends: [backend('echo')],
          trafficPolicy: trafficPolicy({ transformation: TRANSFORMATION }),
        }),
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

/** One raw HTTP/1.1 request with exactly these header lines; the response as text. */
function raw(lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () =>
      s.write(`${lines.join('\r\n')}\r\nHost: t.example\r\nConnection: close\r\n\r\n`),
    );
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (out += c));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('request headers are set, added and removed, with the client address and a request ID', async () => {
  const a = await send(port, {
    path: '/a',
    headers: { 'x-env': 'client', 'x-tag': 'client', 'x-internal': 'x' },
  });
  assert.equal(a.status, 200);
  const h = a.echo!.headers;
  assert.equal(h['x-env'], 'policy');
  assert.equal(h['x-client'], 'ip=127.0.0.1');
  assert.equal(h['x-tag'], 'client, policy');
  assert.equal(h['x-internal'], undefined);
  assert.match(String(h['x-request-id']), /^[0-9a-f-]{36}$/);
  // The same ID on the response; another request gets another one.
  assert.equal(a.headers['x-request-id'], h['x-request-id']);
  const b = await send(port, { path: '/b' });
  assert.notEqual(b.headers['x-request-id'], a.headers['x-request-id']);
});

test('response headers are set, added and removed', async () => {
  const a = await send(port, { path: '/leaky' });
  assert.equal(a.status, 200);
  assert.equal(a.body, 'leaky');
  assert.equal(a.headers['x-backend-secret'], undefined);
  assert.equal(a.headers['x-served-by'], 'backend, gateway');
  assert.match(String(a.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test("the route's header filters apply after the policy's", async () => {
  const a = await send(port, { path: '/filtered', headers: { 'x-tag': 'client' } });
  assert.equal(a.echo!.headers['x-env'], 'route');
  assert.equal(a.echo!.headers['x-tag'], 'client, policy, route');
  assert.equal(a.headers['x-served-by'], 'route');
});

test('a removed header cannot be smuggled through case or repeated lines', async () => {
  const out = await raw([
    'GET /smuggle HTTP/1.1',
    'X-Internal: one',
    'x-INTERNAL: two',
    'x-internal: three',
    'X-Internal : four',
  ]);
  // A space before the colon is refused by the gateway's parser outright.
  assert.match(out, /^HTTP\/1\.1 400 /);
  const ok = await raw(['GET /smuggle HTTP/1.1', 'X-Internal: one', 'x-INTERNAL: two', 'x-internal: three']);
  assert.match(ok, /^HTTP\/1\.1 200 /);
  assert.equal(echo.seen.filter((e) => e.path === '/smuggle').length, 1);
  const seen = echo.seen.find((e) => e.path === '/smuggle')!;
  assert.equal(seen.headers['x-internal'], undefined);
  assert.deepEqual(
    seen.rawHeaders.filter((_, i) => i % 2 === 0).filter((n) => n.toLowerCase().includes('internal')),
    [],
  );
});
