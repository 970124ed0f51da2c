import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect, createSecureServer, type ClientHttp2Session, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import type { GatewayConfig } from '../../../src/config/model.ts';
import { ThreadedGateway } from '../../../src/workers/index.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// kubegate on two worker threads: the kernel spreads one client's connections over both, and the
// per-client caps (connections per address, long-running requests per user) still hold for the
// whole gateway, not per thread.
const PATH = '/api/v1/namespaces/default/configmaps';
const CONNECTIONS = 10;

let dir = '';
let upstream: Http2SecureServer;
let gateway: ThreadedGateway | null = null;
let client: { ca: string; cert: string; key: string };
let upstreamURL = '';

function config(clientLimits: Record<string, unknown>): Promise<GatewayConfig> {
  return resolveGatewayConfiguration(
    fakeClusterConfiguration(upstreamURL, {}, { workers: 2, clientLimits }),
    dir,
  );
}

before(async () => {
  const pki = await fakeClusterPKI('client-caps');
  dir = pki.dir;
  client = pki.client;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    // A watch stays open until the client goes; anything else is answered at once.
    if (String(headers[':path']).includes('watch=true')) stream.write('');
    else stream.end('{"kind":"ConfigMapList","items":[]}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamURL = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await ThreadedGateway.start(
    await config({ maxConnectionsPerClientIP: 3 }),
    pino({ level: 'silent' }),
    () => {},
  );
});

after(async () => {
  await gateway?.stop(0, 0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The status of one request on `s`, or 'refused' when its connection was closed. */
function statusOf(s: ClientHttp2Session, path: string): Promise<number | 'refused'> {
  return new Promise((resolve) => {
    s.on('error', () => resolve('refused'));
    s.on('close', () => resolve('refused'));
    const r = s.request({ ':path': path });
    r.on('response', (h) => resolve(Number(h[':status'])));
    r.on('error', () => resolve('refused'));
    r.resume();
    r.end();
  });
}

async function withSessions<T>(n: number, fn: (s: ClientHttp2Session[]) => Promise<T>): Promise<T> {
  const url = `https://127.0.0.1:${gateway!.ports.main}`;
  const sessions = Array.from({ length: n }, () => connect(url, client));
  try {
    return await fn(sessions);
  } finally {
    for (const s of sessions) s.destroy();
  }
}

test('connections per client address are capped across both workers', async () => {
  const statuses = await withSessions(CONNECTIONS, (ss) => Promise.all(ss.map((s) => statusOf(s, PATH))));
  assert.equal(statuses.filter((s) => s === 200).length, 3, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s === 'refused').length, CONNECTIONS - 3);
});

test('long-running requests per user are capped across both workers', async () => {
  await gateway!.reload(await config({ maxConnectionsPerClientIP: 100, maxLongRunningPerUser: 2 }));
  const statuses = await withSessions(CONNECTIONS, (ss) =>
    Promise.all(ss.map((s) => statusOf(s, `${PATH}?watch=true`))),
  );
  assert.equal(statuses.filter((s) => s === 200).length, 2, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s === 429).length, CONNECTIONS - 2);
});
