import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { SessionPool } from '../../../src/upstream/session-pool.ts';

// An HTTP/2 server behind a TCP relay that can go silent: it keeps the connection open and
// swallows every byte, as a SIGSTOPped apiserver or a black-holed route does. Its PINGs go
// unanswered, so the pool must drop the session rather than keep handing it out.
let dir = '';
let server: Http2SecureServer;
let relay: Server;
let ca = '';
let url: URL;
let silent = false;
const sockets = new Set<Socket>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-silent-'));
  const authority = await createCA(dir, 'ca', 'silent-test-ca');
  const cert = await issueCert(dir, 'apiserver', authority, {
    cn: 'apiserver',
    usage: 'server',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  ca = await readFile(authority.cert, 'utf8');
  server = createSecureServer({ cert: await readFile(cert.cert), key: await readFile(cert.key) });
  server.on('stream', (s) => {
    s.respond({ ':status': 200 });
    s.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = (server.address() as AddressInfo).port;
  relay = createServer((client) => {
    const up = connect(target, '127.0.0.1');
    sockets.add(client).add(up);
    client.on('data', (c) => silent || up.write(c));
    up.on('data', (c) => silent || client.write(c));
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  url = new URL(`https://127.0.0.1:${(relay.address() as AddressInfo).port}`);
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => relay?.close(r));
  await new Promise((r) => server?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a session whose PING goes unacknowledged for a ping interval is dropped, and the next acquire opens a new one', async () => {
  const pool = new SessionPool(url, { ca }, { pingIntervalMs: 200 });
  try {
    const h2 = await pool.acquire();
    pool.release(h2);
    assert.equal(pool.size, 1);
    await sleep(500); // acknowledged PINGs keep it
    assert.equal(pool.size, 1);
    assert.equal(h2.destroyed, false);

    silent = true;
    const closed = new Promise((r) => h2.once('close', r));
    const t0 = performance.now();
    await Promise.race([closed, sleep(3000).then(() => assert.fail('session not dropped within 3 s'))]);
    const ms = performance.now() - t0;
    assert.equal(pool.size, 0);
    assert.ok(ms < 1000, `dropped after ${ms.toFixed(0)} ms (two ping intervals at most: 400 ms + timers)`);

    silent = false;
    await sleep(300); // the reconnect backoff after a failed session
    const next = await pool.acquire();
    assert.notEqual(next, h2);
    pool.release(next);
  } finally {
    pool.destroy();
  }
});
