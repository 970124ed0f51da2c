import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type Http2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// A fake kube-apiserver holding a watch sends GOAWAY, as kube-apiserver does when it starts its
// graceful shutdown (and then waits up to 60 s for open streams). The gateway ends the relayed
// watch cleanly at once, so the client re-watches elsewhere and the apiserver can exit.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let session: ClientHttp2Session;
let watchSession: Http2Session | null = null;

before(async () => {
  const pki = await fakeClusterPKI('goaway');
  dir = pki.dir;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (String(headers[':path']).includes('watch=1')) {
      watchSession = stream.session ?? null;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.write('{"type":"ADDED","object":{"kind":"ConfigMap"}}\n');
      return; // open until the gateway goes
    }
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(fakeClusterConfiguration(`https://127.0.0.1:${port}`, {}, {}), dir),
    pino({ level: 'silent' }),
  );
  session = connect(`https://127.0.0.1:${gateway.address.port}`, pki.client);
});

after(async () => {
  session?.destroy();
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a relayed watch ends cleanly when its apiserver sends GOAWAY', async () => {
  const r = session.request({ ':path': '/api/v1/namespaces/default/configmaps?watch=1' });
  let status = 0;
  let body = '';
  r.setEncoding('utf8');
  r.on('response', (h) => (status = Number(h[':status'])));
  const first = new Promise<void>((resolve) => r.once('data', () => resolve()));
  r.on('data', (c: string) => (body += c));
  let ended = false;
  r.on('end', () => (ended = true));
  const closed = new Promise<void>((resolve) => r.on('close', () => resolve()));
  await first;
  assert.ok(watchSession, 'the watch reached the fake');
  const t0 = performance.now();
  watchSession.goaway(constants.NGHTTP2_NO_ERROR);
  const timeout = setTimeout(() => r.close(), 5000);
  await closed;
  clearTimeout(timeout);
  const ms = performance.now() - t0;
  assert.equal(status, 200);
  assert.match(body, /"ADDED"/);
  assert.ok(ended && r.rstCode === constants.NGHTTP2_NO_ERROR, `ended cleanly (rst ${r.rstCode})`);
  assert.ok(ms < 2000, `ended ${ms.toFixed(0)} ms after GOAWAY`);
});
