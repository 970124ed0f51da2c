import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import {
  connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
} from 'node:http2';
import { connect as connectTCP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTLS } from 'node:tls';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { ThreadedGateway } from '../../../src/workers/index.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// kubegate on two worker threads: the kernel hashes each new connection to one of them, so a client
// whose session one worker closed for rapid reset would find the other worker's door open if the
// penalty were kept per worker. The client comes from an address of its own (127.0.0.2).
const FLOODER = '127.0.0.2';
const ATTEMPTS = 20;
const PATH = '/api/v1/namespaces/default/configmaps';

let dir = '';
let upstream: Http2SecureServer;
let gateway: ThreadedGateway | null = null;
let client: { ca: string; cert: string; key: string };
/** Streams of the flood that reached the fake apiserver. */
let arrived = 0;

before(async () => {
  const pki = await fakeClusterPKI('reset-penalty');
  dir = pki.dir;
  client = pki.client;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    stream.resume();
    // The flood's requests are never answered: their client resets them first.
    if (String(headers[':path']).startsWith('/reset-')) return void arrived++;
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end('{"kind":"ConfigMapList","items":[]}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const doc = fakeClusterConfiguration(
    url,
    {},
    {
      workers: 2,
      accessLog: { path: 'access.log' },
      clientLimits: { prematureResets: { burst: 5, ratePerSecond: 1, penaltySeconds: 600 } },
    },
  );
  gateway = await ThreadedGateway.start(
    await resolveGatewayConfiguration(doc, dir),
    pino({ level: 'silent' }),
    () => {},
  );
});

after(async () => {
  await gateway?.stop(0, 0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** An HTTP/2 session to the gateway from `localAddress`, once the gateway's SETTINGS arrived. */
function session(localAddress: string): Promise<ClientHttp2Session> {
  const port = gateway!.ports.main;
  return new Promise((resolve, reject) => {
    const s = connect(`https://127.0.0.1:${port}`, {
      createConnection: () =>
        connectTLS({
          ...client,
          socket: connectTCP({ host: '127.0.0.1', port, localAddress }),
          ALPNProtocols: ['h2'],
        }),
    });
    s.once('remoteSettings', () => resolve(s));
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before SETTINGS')));
  });
}

/** One list on a new connection from `localAddress`: its status, or 'refused'. */
async function list(localAddress: string): Promise<number | 'refused'> {
  const s = await session(localAddress).catch(() => null);
  if (s === null) return 'refused';
  try {
    return await new Promise<number | 'refused'>((resolve) => {
      const r = s.request({ ':path': PATH });
      r.on('response', (h) => resolve(Number(h[':status'])));
      r.on('error', () => resolve('refused'));
      r.on('close', () => resolve('refused'));
      r.resume();
      r.end();
    });
  } finally {
    s.destroy();
  }
}

/** The workers that wrote access lines for requests from `address`. */
async function workersServing(address: string, lines: number): Promise<Set<number>> {
  let served: { worker?: number }[] = [];
  for (let i = 0; i < 100 && served.length < lines; i++) {
    const text = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
    served = text
      .split('\n')
      .slice(0, -1) // a last line without its newline is still being written
      .map((l) => JSON.parse(l) as { kind?: string; client?: string; worker?: number })
      .filter((l) => l.kind === 'access' && l.client === address);
    await sleep(50);
  }
  return new Set(served.map((l) => l.worker!));
}

test('a client closed for rapid reset by one worker is refused by every worker', async () => {
  // Before: the client's connections land on both workers (the kernel hashes each 4-tuple).
  const first = await Promise.all(Array.from({ length: ATTEMPTS }, () => list(FLOODER)));
  assert.deepEqual(new Set(first), new Set([200]), JSON.stringify(first));
  assert.deepEqual([...(await workersServing(FLOODER, ATTEMPTS))].sort(), [0, 1], 'both workers served it');

  // The flood: requests reset once the gateway forwarded them, until a worker says ENHANCE_YOUR_CALM.
  const flood = await session(FLOODER);
  flood.on('error', () => {});
  const goaway = new Promise<number | string>((r) => {
    flood.once('goaway', (code: number) => r(code));
    flood.once('close', () => setTimeout(() => r('closed without GOAWAY'), 100));
  });
  for (let wave = 0; wave < 20 && !flood.closed && !flood.destroyed; wave++) {
    const streams = Array.from({ length: 4 }, (_, i) => {
      const st = flood.request({ ':path': `/reset-${wave}-${i}` });
      st.on('error', () => {});
      return st;
    });
    const want = arrived + streams.length;
    for (let t = 0; t < 200 && arrived < want; t++) await sleep(5);
    for (const st of streams) st.close(constants.NGHTTP2_CANCEL);
  }
  // Bounded: a machine so slow that no reset came within 1 s of its stream would leave it open.
  const code = await Promise.race([goaway, sleep(5000, 'still open after the flood', { ref: false })]);
  assert.equal(code, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  flood.destroy();

  // After: every new connection is refused, whichever worker the kernel hands it to.
  const then = await Promise.all(Array.from({ length: ATTEMPTS }, () => list(FLOODER)));
  assert.deepEqual(then, Array(ATTEMPTS).fill('refused'));
  // Another client is served as before.
  assert.equal(await list('127.0.0.1'), 200);
});
