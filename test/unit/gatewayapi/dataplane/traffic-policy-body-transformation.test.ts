// A TrafficPolicy's `transformation.requestBody` / `responseBody` in the data plane: the whole body
// replaced by a literal with its framing fixed (Content-Length of the literal, no Transfer-Encoding
// or Content-Encoding), the request body limit still enforced on the client's body, bodiless
// statuses and HEAD left without a body.

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
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

const NO_HEADERS = { set: [], add: [], remove: [] };
const REQUEST_LITERAL = 'héllo, backend'; // 15 bytes in UTF-8
const RESPONSE_LITERAL = 'replaced ✓\n'; // 13 bytes in UTF-8

const prefix = (value: string) => match({ path: { type: 'PathPrefix', value } });

let plane: DataPlane;
let echo: Echo;
let port = 0;

before(async () => {
  echo = await startEcho('echo', (req, res) => {
    if (!req.url?.startsWith('/resp')) return false;
    if (req.url === '/resp/none') {
      res.writeHead(204, { etag: '"none"' });
      res.end();
      return true;
    }
    // A compressed-looking, chunked body with validators that describe it, not the literal.
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', etag: '"backend"' });
    res.write('first part, ');
    res.end('second part');
    return true;
  });
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const transformation = (t: Partial<NonNullable<TrafficPolicyIR['transformation']>>) => ({
    requestHeaders: NO_HEADERS,
    responseHeaders: NO_HEADERS,
    ...t,
  });
  const { failed } = await plane.apply(
    simpleIR(
      port,
      [
        route('req', {
          match: prefix('/req'),
          backends: [backend('echo')],
          trafficPolicy: trafficPolicy({
            transformation: transformation({ requestBody: { set: REQUEST_LITERAL } }),
          }),
        }),
        route('empty', {
          match: prefix('/empty'),
          backends: [backend('echo')],
          trafficPolicy: trafficPolicy({ transformation: transformation({ requestBody: { set: '' } }) }),
        }),
        route('limited', {
          match: prefix('/limited'),
          backends: [backend('echo')],
          trafficPolicy: trafficPolicy({
            requestBodyLimit: 10,
            transformation: transformation({ requestBody: { set: REQUEST_LITERAL } }),
          }),
        }),
        route('resp', {
          match: prefix('/resp'),
          backends: [backend('echo')],
          trafficPolicy: trafficPolicy({
            transformation: transformation({
              responseHeaders: {
                set: [{ name: 'content-type', value: 'text/plain; charset=utf-8' }],
                add: [],
                remove: [],
              },
              responseBody: { set: RESPONSE_LITERAL },
            }),
          }),
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

const seen = (path: string) => echo.seen.filter((e) => e.path === path);

test("the backend gets the literal instead of the client's body, framed by its length", async () => {
  const a = await send(port, {
    method: 'POST',
    path: '/req/a',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: '{"original":true}',
  });
  assert.equal(a.status, 200);
  assert.equal(a.echo!.body, REQUEST_LITERAL);
  assert.equal(a.echo!.headers['content-length'], '15');
  assert.equal(a.echo!.headers['content-encoding'], undefined);
  assert.equal(a.echo!.headers['content-type'], 'application/json', 'other headers are left alone');
});

test('a chunked client body and a request without one are replaced too', async () => {
  const chunked = await send(port, {
    method: 'PUT',
    path: '/req/chunked',
    body: 'x'.repeat(100_000),
    chunked: true,
  });
  assert.equal(chunked.status, 200);
  assert.equal(chunked.echo!.body, REQUEST_LITERAL);
  assert.equal(chunked.echo!.headers['transfer-encoding'], undefined);
  assert.equal(chunked.echo!.headers['content-length'], '15');
  const none = await send(port, { path: '/req/get' });
  assert.equal(none.echo!.body, REQUEST_LITERAL);
  assert.equal(none.echo!.headers['content-length'], '15');
});

test('an empty literal sends an empty body with Content-Length 0', async () => {
  const a = await send(port, { method: 'POST', path: '/empty', body: 'dropped', chunked: true });
  assert.equal(a.status, 200);
  assert.equal(a.echo!.body, '');
  assert.equal(a.echo!.headers['content-length'], '0');
  assert.equal(a.echo!.headers['transfer-encoding'], undefined);
});

test("the request body limit still applies to the client's body", async () => {
  const over = await send(port, { method: 'POST', path: '/limited/declared', body: 'x'.repeat(11) });
  assert.equal(over.status, 413);
  const grown = await send(port, {
    method: 'POST',
    path: '/limited/grown',
    body: 'x'.repeat(11),
    chunked: true,
  });
  assert.equal(grown.status, 413);
  assert.deepEqual([...seen('/limited/declared'), ...seen('/limited/grown')], []);
  const within = await send(port, { method: 'POST', path: '/limited/ok', body: 'x'.repeat(10) });
  assert.equal(within.status, 200);
  assert.equal(within.echo!.body, REQUEST_LITERAL);
});

test("the client gets the literal instead of the backend's body, without the backend's encoding and ETag", async () => {
  const a = await send(port, { path: '/resp/a' });
  assert.equal(a.status, 200);
  assert.equal(a.body, RESPONSE_LITERAL);
  assert.equal(a.headers['content-length'], '13');
  assert.equal(a.headers['transfer-encoding'], undefined);
  assert.equal(a.headers['content-encoding'], undefined);
  assert.equal(a.headers.etag, undefined);
  assert.equal(
    a.headers['content-type'],
    'text/plain; charset=utf-8',
    'the header transformation still applies',
  );
  assert.equal(seen('/resp/a').length, 1);
});

test('a 204 keeps having no body, and HEAD gets the length without one', async () => {
  const none = await send(port, { path: '/resp/none' });
  assert.equal(none.status, 204);
  assert.equal(none.body, '');
  assert.equal(none.headers.etag, '"none"');
  const head = await new Promise<{ status: number; length: string | undefined; body: string }>(
    (resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'HEAD', path: '/resp/head', agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], body }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
  assert.deepEqual(head, { status: 200, length: '13', body: '' });
});
