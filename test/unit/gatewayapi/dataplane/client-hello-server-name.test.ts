// The SNI of a ClientHello, read from real hellos Node's TLS client sends: whole, cut at every
// byte (incomplete until the last), split over two handshake records; and refused when the bytes
// are not TLS, a length field overruns, the name is not a host name, or the hello is too long.

import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { ClientHelloError, readServerName } from '../../../../src/gatewayapi/dataplane/l4/client-hello.ts';

const MAX = 64 * 1024;

/** The first flight of bytes a TLS client sends for `servername`. */
async function captureHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) =>
    server.once('connection', (s) => {
      let data = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        data = Buffer.concat([data, d]);
        try {
          if (readServerName(data, MAX) !== null) {
            resolve(data);
            s.destroy();
          }
        } catch {
          resolve(data);
          s.destroy();
        }
      });
    }),
  );
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClientHelloError) return err.code;
    throw err;
  }
  return 'no error';
}

test('the server_name of a whole ClientHello, lower-cased', async () => {
  assert.equal(readServerName(await captureHello('Abc.Example.com'), MAX), 'abc.example.com');
});

test('a ClientHello without server_name reads as no name', async () => {
  assert.equal(readServerName(await captureHello(undefined), MAX), '');
});

test('every prefix of a ClientHello is incomplete, never an error', async () => {
  const hello = await captureHello('abc.example.com');
  for (let n = 0; n < hello.length; n++)
    assert.equal(readServerName(hello.subarray(0, n), MAX), null, `${n}`);
});

test('a ClientHello split over two handshake records is joined', async () => {
  const hello = await captureHello('split.example.com');
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const cut = 40;
  const record = (part: Buffer) =>
    Buffer.concat([Buffer.from([22, 3, 1, part.length >> 8, part.length & 255]), part]);
  const two = Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))]);
  assert.equal(readServerName(two.subarray(0, 5 + cut + 3), MAX), null);
  assert.equal(readServerName(two, MAX), 'split.example.com');
});

test('bytes that are not a TLS handshake are NOT_TLS', () => {
  assert.equal(
    code(() => readServerName(Buffer.from('GET / HTTP/1.1\r\n\r\n'), MAX)),
    'NOT_TLS',
  );
  assert.equal(
    code(() => readServerName(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0]), MAX)),
    'NOT_TLS',
  );
});

test('a length that overruns its field is MALFORMED', async () => {
  const hello = Buffer.from(await captureHello('abc.example.com'));
  // The session id length (after 5 + 4 + 2 + 32 bytes) made larger than the hello.
  hello[5 + 4 + 2 + 32] = 255;
  assert.equal(
    code(() => readServerName(hello, MAX)),
    'MALFORMED',
  );
});

test('a server_name that is not a host name is MALFORMED', async () => {
  const hello = Buffer.from(await captureHello('abc.example.com'));
  const at = hello.indexOf('abc.example.com');
  hello.write('abc/example.com', at, 'latin1');
  assert.equal(
    code(() => readServerName(hello, MAX)),
    'MALFORMED',
  );
});

test('a ClientHello longer than the limit is TOO_LARGE', async () => {
  const hello = await captureHello('abc.example.com');
  assert.equal(
    code(() => readServerName(hello, 100)),
    'TOO_LARGE',
  );
  assert.equal(
    code(() => readServerName(Buffer.from([22, 3, 1, 0, 4, 1, 1, 0, 0]), 1024)),
    'TOO_LARGE',
  );
});
