import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { SessionPool } from '../../../src/upstream/session-pool.ts';

// An apiserver that allows 3 concurrent streams per connection and answers each after 50 ms.
const MAX_STREAMS = 3;
let dir = '';
let server: Http2SecureServer;
let ca = '';
let url: URL;
let connections = 0;
let peak = 0;
let open = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-pool-'));
  const authority = await createCA(dir, 'ca', 'pool-test-ca');
  const cert = await issueCert(dir, 'apiserver', authority, {
    cn: 'apiserver',
    usage: 'server',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  ca = await readFile(authority.cert, 'utf8');
  server = createSecureServer({
    cert: await readFile(cert.cert),
    key: await readFile(cert.key),
    settings: { maxConcurrentStreams: MAX_STREAMS },
  });
  server.on('secureConnection', () => connections++);
  server.on('stream', (s: ServerHttp2Stream, headers) => {
    if (String(headers[':path']).includes('watch=1')) {
      s.respond({ ':status': 200 }); // a watch: open until the client goes
      s.on('error', () => {});
      return;
    }
    open++;
    peak = Math.max(peak, open);
    setTimeout(() => {
      open--;
      s.respond({ ':status': 200 });
      s.end('ok');
    }, 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

after(async () => {
  await new Promise((r) => server?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function get(pool: SessionPool): Promise<number> {
  const h2 = await pool.acquire();
  try {
    return await new Promise<number>((resolve, reject) => {
      const s = h2.request({ ':path': '/api' });
      let status = 0;
      s.on('response', (h) => (status = Number(h[':status'])));
      s.resume();
      s.on('close', () => resolve(status));
      s.on('error', reject);
    });
  } finally {
    pool.release(h2);
  }
}

test('past maxSessions full sessions, streams wait on the least busy one instead of opening more', async () => {
  const pool = new SessionPool(url, { ca }, { pingIntervalMs: 60_000, maxSessions: 2 });
  try {
    await get(pool); // one connected session whose server limit is known
    connections = 0;
    peak = 0;
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get(pool)));
    assert.deepEqual(new Set(statuses), new Set([200]), 'every request answered, none refused');
    assert.equal(pool.size, 2);
    assert.equal(pool.opened, 2, 'one session opened for the burst, on top of the first');
    assert.ok(
      peak <= 2 * MAX_STREAMS,
      `at most ${2 * MAX_STREAMS} streams at the server at once, saw ${peak}`,
    );
  } finally {
    pool.destroy();
  }
});

test('maxSessions 1 keeps every stream on one connection', async () => {
  const pool = new SessionPool(url, { ca }, { pingIntervalMs: 60_000, maxSessions: 1 });
  try {
    connections = 0;
    const statuses = await Promise.all(Array.from({ length: 10 }, () => get(pool)));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(pool.opened, 1);
    assert.equal(connections, 1);
  } finally {
    pool.destroy();
  }
});

test('watches never wait for a stream: past the cap they get sessions of their own, and so do short requests behind them', async () => {
  const pool = new SessionPool(url, { ca }, { pingIntervalMs: 60_000, maxSessions: 2 });
  try {
    await get(pool);
    const watches = [];
    for (let i = 0; i < 3 * MAX_STREAMS; i++) {
      const h2 = await pool.acquire(true);
      const w = h2.request({ ':path': '/api/v1/pods?watch=1' });
      await new Promise((r) => w.once('response', r));
      watches.push(w);
    }
    assert.equal(pool.size, 3, 'nine watches at 3 streams a session: three full sessions');
    // Sessions full of watches: a short request must not wait behind them.
    const answered = await Promise.all([get(pool), get(pool), get(pool)]);
    assert.deepEqual(answered, [200, 200, 200]);
    assert.equal(pool.size, 4, 'the short requests got a session of their own');
    for (const w of watches) w.close();
  } finally {
    pool.destroy();
  }
});

test('tryAcquire gives a slot on a ready session with room at once, and null when acquire would open or wait', async () => {
  const pool = new SessionPool(url, { ca }, { pingIntervalMs: 60_000, maxSessions: 1 });
  try {
    assert.equal(pool.tryAcquire(), null, 'no session yet: acquire must open one');
    assert.equal(pool.size, 0, 'tryAcquire opens nothing');
    await get(pool);
    const taken = [];
    for (let i = 0; i < MAX_STREAMS; i++) {
      const h2 = pool.tryAcquire();
      assert.ok(h2 !== null, `slot ${i + 1} of ${MAX_STREAMS}`);
      taken.push(h2);
    }
    assert.equal(pool.tryAcquire(), null, 'the session is at the server limit');
    pool.release(taken.pop()!);
    assert.equal(pool.tryAcquire(), taken[0], 'a released slot is given again');
    assert.equal(pool.size, 1);
  } finally {
    pool.close();
  }
});
