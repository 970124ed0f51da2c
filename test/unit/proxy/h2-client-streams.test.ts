import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// HTTP/2 clients are served on core streams (not the compatibility API): refusals that leave a
// request body unread, client resets mid-response and repeated header lines must all behave as
// they did, and leave the client's connection usable.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let session: ClientHttp2Session;
/** What the fake apiserver saw of each `/slow` stream: closed by the gateway before its end? */
const slowClosed: boolean[] = [];
let lastHeaders: IncomingHttpHeaders = {};
let lastRaw: string[] = [];
const BIG_BYTES = 8 * 1024 * 1024;
/** How much of the big answer the fake apiserver managed to write so far. */
let bigWritten = 0;

before(async () => {
  const pki = await fakeClusterPKI('h2-streams');
  dir = pki.dir;
  upstream = createSecureServer(pki.apiserver);
  upstream.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _f: number, raw: string[]) => {
      const path = String(headers[':path']);
      if (path === '/readyz') {
        stream.respond({ ':status': 200 });
        stream.end('ok');
        return;
      }
      if (path.startsWith('/api/v1/namespaces/default/configmaps/big')) {
        // 8 MiB in 64 KiB chunks, written only as fast as the gateway takes them.
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 'z');
        let sent = 0;
        const more = (): void => {
          while (sent < BIG_BYTES) {
            sent += chunk.length;
            bigWritten = sent;
            if (!stream.write(chunk)) {
              stream.once('drain', more);
              return;
            }
          }
          stream.end();
        };
        more();
        return;
      }
      if (path.startsWith('/api/v1/namespaces/default/configmaps/slow')) {
        // A body in many small chunks, well after the client will have reset its stream.
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        let n = 0;
        const i = setInterval(() => {
          if (stream.closed || n++ > 50) {
            clearInterval(i);
            slowClosed.push(stream.rstCode === constants.NGHTTP2_CANCEL);
            if (!stream.closed) stream.end();
            return;
          }
          stream.write('{"chunk":true}\n');
        }, 20);
        return;
      }
      lastHeaders = headers;
      lastRaw = raw;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-upstream': 'fake' });
        stream.end(JSON.stringify({ kind: 'ConfigMap', received: Buffer.concat(chunks).length }));
      });
    },
  );
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const doc = fakeClusterConfiguration(`https://127.0.0.1:${port}`, {
    rules: [
      {
        name: 'no-secrets',
        match: { resources: ['secrets'] },
        action: 'deny',
        deny: { code: 403, message: 'secrets are off limits here' },
      },
    ],
  });
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(doc, dir),
    pino({ level: 'silent' }),
  );
  session = connect(`https://127.0.0.1:${gateway.address.port}`, pki.client);
});

after(async () => {
  session?.close();
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function call(
  headers: OutgoingHttpHeaders,
  body?: Buffer,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request(headers, { endStream: body === undefined });
    s.setTimeout(10_000, () => s.close());
    let got: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    s.on('response', (h) => (got = h));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () =>
      resolve({ status: Number(got[':status']), headers: got, body: Buffer.concat(chunks).toString() }),
    );
    s.on('error', reject);
    if (body !== undefined) s.end(body);
  });
}

test('a refusal before the request body is read answers a Status, and the connection serves on', async () => {
  const big = Buffer.alloc(1024 * 1024, 'x'); // far over the 64 KiB HTTP/2 flow-control window
  const refused = await call(
    { ':method': 'POST', ':path': '/api/v1/namespaces/default/secrets', 'content-type': 'application/json' },
    big,
  );
  assert.equal(refused.status, 403);
  const status = JSON.parse(refused.body) as { kind: string; reason: string; message: string };
  assert.equal(status.kind, 'Status');
  assert.equal(status.reason, 'Forbidden');
  assert.equal(status.message, 'secrets are off limits here');
  for (let i = 0; i < 3; i++) {
    const ok = await call({ ':path': '/api/v1/namespaces/default/configmaps/a' });
    assert.equal(ok.status, 200);
  }
});

test('a request body is streamed upstream whole and the answer relayed with its headers', async () => {
  const body = Buffer.alloc(300 * 1024, 'y');
  const r = await call(
    {
      ':method': 'POST',
      ':path': '/api/v1/namespaces/default/configmaps',
      'content-type': 'application/json',
    },
    body,
  );
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'fake');
  assert.deepEqual(JSON.parse(r.body), { kind: 'ConfigMap', received: body.length });
});

test('repeated request header lines reach the apiserver as separate lines; client credentials do not', async () => {
  const r = await call({
    ':path': '/api/v1/namespaces/default/configmaps/b',
    'x-repeated': ['one', 'two'],
    'impersonate-user': 'mallory',
  });
  assert.equal(r.status, 403, 'impersonation is not enabled: refused, not forwarded');
  const ok = await call({ ':path': '/api/v1/namespaces/default/configmaps/b', 'x-repeated': ['one', 'two'] });
  assert.equal(ok.status, 200);
  const lines = lastRaw.filter((_, i) => i % 2 === 1 && lastRaw[i - 1] === 'x-repeated');
  assert.deepEqual(lines, ['one', 'two']);
  assert.equal(lastHeaders['impersonate-user'], 'alice');
});

test('a client reset mid-response cancels the upstream stream; the connection serves on', async () => {
  const s = session.request({ ':path': '/api/v1/namespaces/default/configmaps/slow' });
  await new Promise<void>((resolve, reject) => {
    s.once('data', () => resolve());
    s.once('error', reject);
  });
  s.close(constants.NGHTTP2_CANCEL);
  for (let i = 0; i < 100 && slowClosed.length === 0; i++) await sleep(20);
  assert.deepEqual(slowClosed, [true], 'the apiserver saw its stream cancelled');
  const ok = await call({ ':path': '/api/v1/namespaces/default/configmaps/c' });
  assert.equal(ok.status, 200);
});

test('a client that does not read holds the apiserver back (back-pressure), then gets every byte', async () => {
  const s = session.request({ ':path': '/api/v1/namespaces/default/configmaps/big' });
  s.pause();
  await new Promise<void>((resolve, reject) => {
    s.once('response', () => resolve());
    s.once('error', reject);
  });
  await sleep(500);
  const before = bigWritten;
  assert.ok(before < 2 * 1024 * 1024, `the apiserver wrote ${before} bytes to a client that read nothing`);
  let got = 0;
  s.on('data', (c: Buffer) => (got += c.length));
  s.resume();
  await new Promise<void>((resolve, reject) => {
    s.once('end', () => resolve());
    s.once('error', reject);
  });
  assert.equal(got, BIG_BYTES);
});
