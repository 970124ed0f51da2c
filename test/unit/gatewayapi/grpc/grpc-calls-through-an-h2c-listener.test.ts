import assert from 'node:assert/strict';
import { createServer, type Http2Server } from 'node:http2';
import { connect as connectTcp, createServer as createTcp, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
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
} from '../dataplane/helpers.ts';
import { frame, grpcCall } from './grpc-call.ts';

let plane: DataPlane;
let grpc: Http2Server;
let echo: Echo;
let port = 0;
let url = '';
/** Relays to the data plane, sending the client's first 40 bytes one at a time, 2 ms apart. */
let trickle: Server;

/** A gRPC backend: answers `/pkg.Echo/Call` with the request it saw, the rest trailers-only. */
before(async () => {
  grpc = createServer();
  grpc.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (headers[':path'] !== '/pkg.Echo/Call') {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '5',
            'grpc-message': 'no such thing',
          },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-trailer': 'kept' }));
      const seen = { headers, body: Buffer.concat(chunks).toString('base64') };
      stream.end(frame(Buffer.from(JSON.stringify(seen))));
    });
  });
  await new Promise<void>((r) => grpc.listen(0, '127.0.0.1', r));
  echo = await startEcho('h1');
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  trickle = createTcp((client) => {
    const upstream = connectTcp(port, '127.0.0.1');
    upstream.pipe(client);
    let sent = 0;
    let queue = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      queue = queue.then(async () => {
        for (const byte of chunk) {
          upstream.write(Buffer.of(byte));
          if (++sent <= 40) await new Promise((r) => setTimeout(r, 2));
        }
      });
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
  const grpcPort = (grpc.address() as AddressInfo).port;
  plane = new DataPlane({ log: silent });
  await plane.apply(
    simpleIR(
      port,
      [
        route('call', {
          match: match({ path: { type: 'Exact', value: '/pkg.Echo/Call' } }),
          backends: [backend('grpc')],
          filters: [
            {
              type: 'RequestHeaderModifier',
              headers: { set: [{ name: 'x-set', value: 'by-route' }], add: [], remove: [] },
            },
          ],
        }),
        route('other', {
          match: match({ path: { type: 'RegularExpression', value: '/pkg\\.Echo/[^/]+' } }),
          backends: [backend('grpc')],
        }),
        route('down', {
          match: match({ path: { type: 'Exact', value: '/pkg.Down/Call' } }),
          backends: [backend('down')],
        }),
        route('plain', {
          match: match({ path: { type: 'PathPrefix', value: '/plain' } }),
          backends: [backend('h1')],
        }),
      ],
      [
        cluster('grpc', [grpcPort], 'h2c'),
        cluster('down', [await freePort()], 'h2c'),
        cluster('h1', [echo.port]),
      ],
    ),
  );
});

after(async () => {
  await new Promise<void>((r) => trickle.close(() => r()));
  await plane.close();
  await echo.close();
  await new Promise<void>((r) => grpc.close(() => r()));
});

test('a gRPC call over h2c with prior knowledge reaches its backend; trailers come back', async () => {
  const message = Buffer.from('hello protobuf');
  const a = await grpcCall(url, '/pkg.Echo/Call', {
    authority: 'grpc.example',
    metadata: { 'x-client': 'yes' },
    message,
  });
  assert.equal(a.httpStatus, 200);
  assert.equal(a.code, 0);
  assert.equal(a.trailers['x-trailer'], 'kept');
  const seen = JSON.parse(a.messages[0].toString()) as { headers: Record<string, string>; body: string };
  assert.equal(seen.headers[':authority'], 'grpc.example');
  assert.equal(seen.headers['x-client'], 'yes');
  assert.equal(seen.headers['x-set'], 'by-route');
  assert.equal(seen.headers.te, 'trailers');
  assert.equal(seen.headers['content-type'], 'application/grpc');
  assert.deepEqual(Buffer.from(seen.body, 'base64'), frame(message));
});

test("a backend's trailers-only answer reaches the client as its gRPC status", async () => {
  const a = await grpcCall(url, '/pkg.Echo/Missing');
  assert.equal(a.code, 5);
  assert.equal(a.message, 'no such thing');
});

test('no matching route is UNIMPLEMENTED and a backend that refuses connections UNAVAILABLE', async () => {
  const none = await grpcCall(url, '/pkg.Nothing/Here');
  assert.equal(none.httpStatus, 200);
  assert.equal(none.headers['content-type'], 'application/grpc');
  assert.equal(none.code, 12);
  const down = await grpcCall(url, '/pkg.Down/Call');
  assert.equal(down.httpStatus, 200);
  assert.equal(down.code, 14);
});

test('HTTP/1.1 clients are served on the same port, plain 404 included', async () => {
  const a = await send(port, { path: '/plain/x', host: 'h1.example', method: 'POST', body: 'abc' });
  assert.equal(a.status, 200);
  assert.equal(a.echo?.body, 'abc');
  assert.equal(a.echo?.host, 'h1.example');
  const miss = await send(port, { path: '/nowhere' });
  assert.equal(miss.status, 404);
  // A method starting like the preface ("P") is still HTTP/1.1.
  const put = await send(port, { method: 'PUT', path: '/plain/put', body: 'x' });
  assert.equal(put.status, 200);
});

test('many gRPC calls share one client connection', async () => {
  const { connect } = await import('node:http2');
  const session = connect(url);
  try {
    const calls = Array.from(
      { length: 20 },
      (_, i) =>
        new Promise<number>((resolve, reject) => {
          const s = session.request({
            ':method': 'POST',
            ':path': '/pkg.Echo/Call',
            'content-type': 'application/grpc',
            te: 'trailers',
          });
          let status = -1;
          s.on('trailers', (t) => (status = Number(t['grpc-status'])));
          s.on('error', reject);
          s.resume();
          s.on('end', () => resolve(status));
          s.end(frame(Buffer.from(String(i))));
        }),
    );
    assert.deepEqual(await Promise.all(calls), Array(20).fill(0));
  } finally {
    session.close();
  }
});

test('a preface or a request line that arrives a byte at a time is still told apart', async () => {
  const via = (trickle.address() as AddressInfo).port;
  const a = await grpcCall(`http://127.0.0.1:${via}`, '/pkg.Echo/Call');
  assert.equal(a.code, 0);
  const b = await send(via, { method: 'POST', path: '/plain/slow', body: 'slow' });
  assert.equal(b.status, 200);
  assert.equal(b.echo?.body, 'slow');
});
