import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// The gateway ends a relayed response as soon as its upstream stream ends, not at that stream's
// close. Node ends an upstream stream's readable side also when its session dies under it, so a
// body cut that way must still reach the client as cut (reset), never as a whole one; a cut watch
// ends cleanly (clients resume from their last resourceVersion).
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let session: ClientHttp2Session;

before(async () => {
  const pki = await fakeClusterPKI('relay-end');
  dir = pki.dir;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const path = String(headers[':path']);
    if (path.startsWith('/readyz') || path.startsWith('/livez') || path.startsWith('/healthz')) {
      stream.respond({ ':status': 200 });
      stream.end('ok');
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.write('{"kind":"ConfigMapList","items":[');
    if (path.includes('cut')) {
      // Half a body, then the apiserver's connection dies.
      setTimeout(() => stream.session?.socket.destroy(), 30);
      return;
    }
    stream.end(']}');
  });
  upstream.on('sessionError', () => {});
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(fakeClusterConfiguration(`https://127.0.0.1:${port}`, {}, {}), dir),
    pino({ level: 'silent' }),
  );
  session = connect(`https://127.0.0.1:${gateway.address.port}`, pki.client);
  session.on('error', () => {});
});

after(async () => {
  session?.destroy();
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One GET through the gateway: status, body, whether it ended, and its reset code. */
function get(path: string): Promise<{ status: number; body: string; ended: boolean; rst: number }> {
  return new Promise((resolve) => {
    const r = session.request({ ':path': path });
    r.setEncoding('utf8');
    let status = 0;
    let body = '';
    let ended = false;
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (c: string) => (body += c));
    r.on('end', () => (ended = true));
    r.on('error', () => {});
    const timeout = setTimeout(() => r.close(), 5000);
    r.on('close', () => {
      clearTimeout(timeout);
      resolve({ status, body, ended, rst: r.rstCode ?? -1 });
    });
  });
}

test('a whole body ends cleanly, as sent', async () => {
  for (let i = 0; i < 20; i++) {
    const r = await get('/api/v1/namespaces/default/configmaps');
    assert.equal(r.status, 200);
    assert.equal(r.body, '{"kind":"ConfigMapList","items":[]}');
    assert.ok(r.ended && r.rst === constants.NGHTTP2_NO_ERROR, `ended cleanly (rst ${r.rst})`);
  }
});

test('a body cut by the upstream connection dying is reset, not ended as whole', async () => {
  const r = await get('/api/v1/namespaces/default/configmaps?cut=1');
  assert.equal(r.status, 200);
  assert.equal(r.body, '{"kind":"ConfigMapList","items":[');
  assert.ok(!(r.ended && r.rst === constants.NGHTTP2_NO_ERROR), `reset (ended ${r.ended}, rst ${r.rst})`);
});

test('a watch cut by the upstream connection dying ends cleanly', async () => {
  const r = await get('/api/v1/namespaces/default/configmaps?watch=1&cut=1');
  assert.equal(r.status, 200);
  assert.ok(r.ended && r.rst === constants.NGHTTP2_NO_ERROR, `ended cleanly (rst ${r.rst})`);
});
