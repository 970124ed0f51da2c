import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { SessionPool } from '../../../src/upstream/session-pool.ts';

// The pool verifies the apiserver against the cluster's CA; only `insecure` (a ClusterGateway
// Secret's explicit kubegate.io/insecure-skip-tls-verify) connects to one the CA did not sign.
let dir = '';
let server: Http2SecureServer;
let otherCA = '';
let url: URL;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-insecure-'));
  const served = await createCA(dir, 'served', 'the apiserver’s own CA');
  const other = await createCA(dir, 'other', 'a CA that signed nothing here');
  const cert = await issueCert(dir, 'apiserver', served, {
    cn: 'apiserver',
    usage: 'server',
    ips: ['127.0.0.1'],
  });
  otherCA = await readFile(other.cert, 'utf8');
  server = createSecureServer({ cert: await readFile(cert.cert), key: await readFile(cert.key) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

after(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

test('a server the CA did not sign is refused', async () => {
  const pool = new SessionPool(url, { ca: otherCA }, { pingIntervalMs: 30_000 });
  await assert.rejects(pool.acquire(), /self-signed|unable to verify|certificate/i);
  pool.destroy();
});

test('with insecure the same server is reached', async () => {
  const pool = new SessionPool(url, { ca: '', insecure: true }, { pingIntervalMs: 30_000 });
  const h2 = await pool.acquire();
  assert.equal(h2.destroyed, false);
  pool.destroy();
});
