import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect, createSecureServer, type ClientHttp2Session, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { ConfigError } from '../../../src/config/issues.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// queue.waitForRate: requests over qps wait for their token instead of a 429, at most queue.length
// tokens ahead; the rest still get 429 at once.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let session: ClientHttp2Session;
let upstreamURL = '';
const arrivals: number[] = [];

const RULE = {
  name: 'shaped',
  match: {},
  limits: { qps: 10, burst: 1, queue: { length: 5, timeoutSeconds: 5, waitForRate: true } },
};

before(async () => {
  const pki = await fakeClusterPKI('wait-for-rate');
  dir = pki.dir;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (String(headers[':path']).includes('/shaped-')) arrivals.push(performance.now());
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end('{}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamURL = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(fakeClusterConfiguration(upstreamURL, { rules: [RULE] }), dir),
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

function get(path: string): Promise<number> {
  return new Promise((resolve) => {
    const r = session.request({ ':path': `/api/v1/namespaces/default/configmaps/${path}` });
    let status = 0;
    r.on('response', (h) => (status = Number(h[':status'])));
    r.resume();
    r.on('error', () => {});
    r.on('close', () => resolve(status));
  });
}

test('10 requests at once at qps 10, burst 1, queue 5: 6 go, paced a token apart, 4 get 429', async () => {
  assert.equal(await get('warm-up'), 200); // the upstream session, so the first one is not late
  await new Promise((r) => setTimeout(r, 200)); // its token back
  const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`shaped-${i}`)));
  assert.deepEqual(
    statuses.toSorted((a, b) => a - b),
    [200, 200, 200, 200, 200, 200, 429, 429, 429, 429],
  );
  assert.equal(arrivals.length, 6);
  // Paced: the sixth reached the apiserver five intervals (500 ms) after the first; allow the first
  // one's own path through the gateway, which the waiting ones do not wait on. A slower machine
  // only spreads them more.
  const span = arrivals[5] - arrivals[0];
  assert.ok(span >= 450, `span ${span.toFixed(0)} ms`);
});

test('waitForRate without qps is a config issue at its field', async () => {
  const bad = fakeClusterConfiguration(upstreamURL, {
    rules: [{ name: 'no-qps', match: {}, limits: { queue: { length: 1, waitForRate: true } } }],
  });
  const err = await resolveGatewayConfiguration(bad, dir).then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(
    err.issues.map((i) => i.path),
    ['clusters[0].rules[0].limits.queue.waitForRate'],
  );
});
