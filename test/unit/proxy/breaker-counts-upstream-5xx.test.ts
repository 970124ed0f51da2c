import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  connect,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import type { GatewayConfig } from '../../../src/config/model.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// The gateway in-process in front of a fake kube-apiserver (TLS HTTP/2 on 127.0.0.1, port 0) that
// answers 500 while `failing` is set: relayed 5xx answers count as breaker failures; once open,
// the gateway answers 503 itself and the fake sees nothing; after openSeconds the half-open probes
// reach it, and their success closes the breaker.
const OPEN_MS = 500;
const BREAKER_MESSAGE = 'fake is resting (breaker open)';
const PATH = '/api/v1/namespaces/default/configmaps';

let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let client: { ca: string; cert: string; key: string };
let session: ClientHttp2Session;
let failing = true;
/** Requests that reached the fake, health checks left out. */
let hits = 0;

function gatewayConfig(dir: string, upstreamURL: string): Promise<GatewayConfig> {
  return resolveGatewayConfiguration(
    fakeClusterConfiguration(
      upstreamURL,
      {
        circuitBreaker: {
          message: BREAKER_MESSAGE,
          automatic: {
            windowSeconds: 10,
            minRequests: 4,
            errorRatio: 0.5,
            openSeconds: OPEN_MS / 1000,
            halfOpenProbes: 2,
          },
        },
      },
      {},
    ),
    dir,
  );
}

before(async () => {
  const pki = await fakeClusterPKI('breaker');
  dir = pki.dir;
  client = pki.client;

  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const path = String(headers[':path']);
    stream.resume();
    if (path === '/readyz') {
      stream.respond({ ':status': 200 });
      stream.end('ok');
      return;
    }
    hits++;
    const status = failing ? 500 : 200;
    stream.respond({ ':status': status, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ kind: 'Status', code: status }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;

  gateway = await RunningGateway.start(
    await gatewayConfig(dir, `https://127.0.0.1:${port}`),
    pino({ level: 'silent' }),
  );
  session = connect(`https://127.0.0.1:${gateway.address.port}`, client);
});

after(async () => {
  session?.close();
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

function get(): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':path': PATH });
    s.setTimeout(10_000, () => s.close());
    let status = 0;
    let retryAfter: string | undefined;
    const chunks: Buffer[] = [];
    s.on('response', (h) => {
      status = Number(h[':status']);
      retryAfter = h['retry-after'] as string | undefined;
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve({ status, retryAfter, body: Buffer.concat(chunks).toString() }));
    s.on('error', reject);
    s.end();
  });
}

async function sequence(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get()).status);
  return out;
}

function assertBreakerAnswer(a: Answer): void {
  assert.equal(a.status, 503);
  const st = JSON.parse(a.body) as Record<string, unknown>;
  assert.equal(st.reason, 'ServiceUnavailable');
  assert.equal(st.message, BREAKER_MESSAGE);
  assert.ok(Number(a.retryAfter) >= 1, `retry-after ${a.retryAfter}`);
}

test('upstream 500s open the breaker; open, it answers 503 without contacting the upstream', async (t) => {
  assert.deepEqual(await sequence(4), [500, 500, 500, 500], '5xx answers are relayed as they came');
  assert.equal(hits, 4);
  const refused = await Promise.all(Array.from({ length: 5 }, get));
  for (const a of refused) assertBreakerAnswer(a);
  assert.equal(hits, 4, 'no request reached the upstream while open');
  t.diagnostic(`opened after 4 upstream 500s; 5 requests answered 503 with ${hits} upstream hits`);
});

test('a failed half-open probe re-opens it; successful probes close it', async (t) => {
  await sleep(OPEN_MS + 50);
  // Half-open, still failing: the probe reaches the upstream, fails, and the breaker opens again.
  assert.equal((await get()).status, 500);
  assert.equal(hits, 5, 'the probe reached the upstream');
  assertBreakerAnswer(await get());
  assert.equal(hits, 5);

  failing = false;
  await sleep(OPEN_MS + 50);
  assert.deepEqual(await sequence(2), [200, 200], 'two half-open probes');
  assert.equal(hits, 7);
  // Closed: more at once than halfOpenProbes, every one forwarded.
  const closed = await Promise.all(Array.from({ length: 10 }, get));
  assert.deepEqual(
    closed.map((a) => a.status),
    Array(10).fill(200),
  );
  assert.equal(hits, 17);
  t.diagnostic(`re-opened on a failed probe; closed after 2 probes; ${hits} upstream hits in all`);
});
