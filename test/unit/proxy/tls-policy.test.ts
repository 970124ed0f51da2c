import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';

// The listener's TLS: 1.2 and 1.3 only, forward-secret AEAD suites only, no renegotiation.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let ca = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-tls-policy-'));
  const authority = await createCA(dir, 'ca', 'tls-policy-test-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const apiserver = await issueCert(dir, 'apiserver', authority, {
    cn: 'apiserver',
    usage: 'server',
    ...local,
  });
  await issueCert(dir, 'gateway', authority, { cn: 'kubegate', usage: 'server', ...local });
  ca = await readFile(authority.cert, 'utf8');
  upstream = createSecureServer({ cert: await readFile(apiserver.cert), key: await readFile(apiserver.key) });
  upstream.on('stream', (s: ServerHttp2Stream) => {
    s.respond({ ':status': 200 });
    s.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const doc = fakeClusterConfiguration(`https://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(doc, dir),
    pino({ level: 'silent' }),
  );
});

after(async () => {
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function handshake(opts: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port: gateway!.address.port,
      ca,
      servername: 'localhost',
      ...opts,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

test('TLS 1.3 is served, with h2 by ALPN', async () => {
  const s = await handshake({ ALPNProtocols: ['h2'] });
  assert.equal(s.getProtocol(), 'TLSv1.3');
  assert.equal(s.alpnProtocol, 'h2');
  s.destroy();
});

test('TLS 1.2 with a forward-secret AEAD suite is served', async () => {
  const s = await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  assert.equal(s.getProtocol(), 'TLSv1.2');
  assert.equal(s.getCipher().name, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  s.destroy();
});

test('TLS 1.2 offering only CBC suites is refused', async () => {
  await assert.rejects(
    handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384' }),
  );
});

test('TLS 1.1 and older are refused', async () => {
  await assert.rejects(
    handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
  );
});

test('a TLS 1.2 client cannot renegotiate', async () => {
  const s = await handshake({ maxVersion: 'TLSv1.2' });
  const outcome = await new Promise<string>((resolve) => {
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.once('close', () => resolve('closed'));
    const started = s.renegotiate({}, (err) => resolve(err ? `refused: ${err.message}` : 'renegotiated'));
    if (!started) resolve('not started');
  });
  assert.notEqual(outcome, 'renegotiated');
  s.destroy();
});

test('after a certificate swap (reload), new handshakes get the new certificate under the same policy', async () => {
  const authority = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  const next = await issueCert(dir, 'gateway-next', authority, {
    cn: 'kubegate-next',
    usage: 'server',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const before = await handshake({});
  const doc = fakeClusterConfiguration(`https://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  const listener = (doc.listeners as Record<string, unknown>[])[0];
  listener.tls = { certFile: next.cert, keyFile: next.key, clientCAFile: 'ca.crt' };
  await gateway!.reload(await resolveGatewayConfiguration(doc, dir));
  const after = await handshake({});
  assert.equal(after.getPeerX509Certificate()?.subject, 'CN=kubegate-next');
  assert.equal(before.getPeerX509Certificate()?.subject, 'CN=kubegate', 'an open connection keeps its own');
  assert.equal(before.destroyed, false);
  before.destroy();
  after.destroy();
  await assert.rejects(
    handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
  );
  await assert.rejects(
    handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384' }),
  );
  const s = await handshake({ maxVersion: 'TLSv1.2' });
  const renegotiated = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.once('close', () => resolve(false));
    if (!s.renegotiate({}, (err) => resolve(!err))) resolve(false);
  });
  s.destroy();
  assert.equal(renegotiated, false);
});
