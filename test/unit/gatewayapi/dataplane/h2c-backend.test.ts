import assert from 'node:assert/strict';
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import { backend, cluster, freePort, route, send, silent, simpleIR } from './helpers.ts';

let plane: DataPlane;
let h2c: Http2Server;
let sessions = 0;
let port = 0;

before(async () => {
  h2c = createServer();
  h2c.on('session', () => sessions++);
  h2c.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-proto': 'h2c' });
      const size = Number(new URL(String(headers[':path']), 'http://x').searchParams.get('size') ?? 0);
      stream.end(
        JSON.stringify({
          server: 'h2c',
          method: headers[':method'],
          path: headers[':path'],
          host: headers[':authority'],
          headers,
          body,
          padding: 'p'.repeat(size),
        }),
      );
    });
  });
  await new Promise<void>((r) => h2c.listen(0, '127.0.0.1', r));
  port = await freePort();
  plane = new DataPlane({ log: silent });
  await plane.apply(
    simpleIR(
      port,
      [route('h2c', { backends: [backend('h2c')] })],
      [cluster('h2c', [(h2c.address() as AddressInfo).port], 'h2c')],
    ),
  );
});

after(async () => {
  await plane.close();
  await new Promise<void>((r) => h2c.close(() => r()));
});

test('an h2c cluster is reached over HTTP/2 with prior knowledge, Host as :authority', async () => {
  const a = await send(port, { path: '/over/h2c?x=1', host: 'app.example', headers: { 'x-client': 'yes' } });
  assert.equal(a.status, 200);
  assert.equal(a.headers['x-proto'], 'h2c');
  assert.equal(a.echo?.server, 'h2c');
  assert.equal(a.echo?.path, '/over/h2c?x=1');
  assert.equal(a.echo?.host, 'app.example');
  assert.equal(a.echo?.headers['x-client'], 'yes');
  assert.equal(a.echo?.headers['x-forwarded-proto'], 'http');
});

test('request and large response bodies cross the h2c hop whole', async () => {
  const a = await send(port, { method: 'POST', path: '/big?size=1000000', body: 'b'.repeat(100_000) });
  assert.equal(a.status, 200);
  const echo = JSON.parse(a.body) as { body: string; padding: string };
  assert.equal(echo.body.length, 100_000);
  assert.equal(echo.padding.length, 1_000_000);
});

test('requests to an h2c endpoint share one session', async () => {
  await Promise.all(Array.from({ length: 20 }, (_, i) => send(port, { path: `/n/${i}` })));
  assert.equal(sessions, 1);
});
