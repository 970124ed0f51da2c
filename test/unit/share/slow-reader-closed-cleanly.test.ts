import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  connect,
  constants,
  createSecureServer,
  type Http2SecureServer,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// A window of 20 events, read when the share module loads: set before importing the gateway.
process.env.KUBEGATE_SHARED_WATCH_WINDOW = '20';
const { resolveGatewayConfiguration } = await import('../../../src/config/file-config.ts');
const { RunningGateway } = await import('../../../src/gateway.ts');
const { shareStats } = await import('../../../src/share/index.ts');

const cleanup: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

const pad = 'x'.repeat(8 * 1024);
const frame = (rv: number) =>
  `{"type":"MODIFIED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","resourceVersion":"${rv}"},"data":{"v":"${pad}"}}}\n`;

test('a client that stops reading is closed cleanly once it falls out of the window, and never holds back the others', async () => {
  const pki = await fakeClusterPKI('share-slow');
  cleanup.push(() => rm(pki.dir, { recursive: true, force: true }));
  let up: ServerHttp2Stream | null = null;
  let upstreamWatches = 0;
  const upstream: Http2SecureServer = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const path = String(headers[':path']);
    if (path.startsWith('/apis/authorization.k8s.io/')) {
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 201, 'content-type': 'application/json' });
        stream.end('{"status":{"allowed":true}}');
      });
    } else if (path.includes('watch=true')) {
      upstreamWatches++;
      up = stream;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
    } else {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => upstream.close(r)));
  const rules = [{ name: 'shared', match: { verbs: ['watch'] }, share: 'watches' }];
  const gw = await RunningGateway.start(
    await resolveGatewayConfiguration(
      fakeClusterConfiguration(`https://127.0.0.1:${(upstream.address() as AddressInfo).port}`, { rules }),
      pki.dir,
    ),
    pino({ level: 'silent' }),
  );
  cleanup.push(() => gw.stop(0));
  const url = `https://127.0.0.1:${gw.address.port}`;
  const fastSession = connect(url, pki.client);
  const slowSession = connect(url, pki.client);
  cleanup.push(() => {
    fastSession.destroy();
    slowSession.destroy();
  });
  const path = '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1';
  const fast = fastSession.request({ ':path': path });
  let fastBody = '';
  fast.setEncoding('utf8');
  fast.on('data', (c: string) => (fastBody += c));
  await new Promise((r) => fast.once('response', r));
  const slow = slowSession.request({ ':path': path });
  await new Promise((r) => slow.once('response', r));
  // The slow client reads nothing: HTTP/2 flow control fills up and the gateway stops writing to it.
  const evictions = shareStats.evictions;
  const n = 200;
  for (let i = 0; i < n; i++) {
    up!.write(frame(2 + i));
    if (i % 10 === 9) await sleep(5);
  }
  const deadline = Date.now() + 10_000;
  while (fastBody.split('\n').length - 1 < n && Date.now() < deadline) await sleep(20);
  assert.equal(fastBody.split('\n').length - 1, n, 'the reading client got every event');
  assert.equal(shareStats.evictions, evictions + 1, 'the slow client was evicted');
  assert.equal(upstreamWatches, 1);

  let slowBody = '';
  let ended = false;
  slow.setEncoding('utf8');
  slow.on('data', (c: string) => (slowBody += c));
  slow.on('end', () => (ended = true));
  await new Promise((r) => slow.once('close', r));
  assert.ok(ended, 'ended with END_STREAM');
  assert.equal(slow.rstCode, constants.NGHTTP2_NO_ERROR);
  const got = slowBody.split('\n').length - 1;
  assert.ok(got > 0 && got < n, `got ${got} of ${n}`);
  assert.equal(slowBody, fastBody.split('\n').slice(0, got).join('\n') + '\n', 'a prefix: no gap');
  // The others go on: one more event reaches the reading client.
  up!.write(frame(1000));
  while (!fastBody.includes('"1000"') && Date.now() < deadline) await sleep(20);
  assert.ok(fastBody.includes('"1000"'));
});
