import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect, createSecureServer, type ClientHttp2Session, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// Issue 23 point 11, which answers are retried: two replicas behind round-robin, one still warming
// up (`cold`), one serving (`warm`). The answers of `cold` are the real apiserver's bodies (see the
// e2e test new-crd-served-while-replicas-warm-up): a 429 "storage is (re)initializing" and a
// plain-text 404 are retried on `warm`; a 404 naming an object and a 429 of API Priority and
// Fairness are relayed as they came. The last one a real apiserver does not show on demand.
const status = (code: number, reason: string, message: string) =>
  JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
const NAMED_404 = status(404, 'NotFound', 'widgets.x.io "nope" not found');
const COLD: Record<string, [number, string, string]> = {
  '/apis/x.io/v1/widgets': [
    429,
    'application/json',
    status(429, 'TooManyRequests', 'storage is (re)initializing'),
  ],
  '/apis/x.io/v1/gadgets': [404, 'text/plain; charset=utf-8', '404 page not found\n'],
  '/apis/x.io/v1/namespaces/default/widgets/nope': [404, 'application/json', NAMED_404],
  // kube-apiserver's answer to a path it does not route (it does not clean dot segments).
  '/api/v1/namespaces/default/configmaps/../secrets': [
    404,
    'text/plain; charset=utf-8',
    '404 page not found\n',
  ],
  '/apis/x.io/v1/things': [
    429,
    'application/json',
    status(429, 'TooManyRequests', 'Too many requests, please try your request again later.'),
  ],
};

let dir = '';
const servers: Http2SecureServer[] = [];
const hits = { cold: new Map<string, number>(), warm: new Map<string, number>() };
let gateway: RunningGateway | null = null;
let session: ClientHttp2Session;

before(async () => {
  const pki = await fakeClusterPKI('not-yet-served');
  dir = pki.dir;
  const urls: string[] = [];
  for (const name of ['cold', 'warm'] as const) {
    const server = createSecureServer(pki.apiserver);
    server.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      stream.on('error', () => {});
      if (path !== '/readyz') hits[name].set(path, (hits[name].get(path) ?? 0) + 1);
      const [code, type, body] =
        name === 'cold' && COLD[path] !== undefined
          ? COLD[path]
          : path.endsWith('/nope')
            ? [404, 'application/json', NAMED_404]
            : [200, 'application/json', '{"kind":"List","items":[]}'];
      stream.respond({ ':status': code, 'content-type': type });
      stream.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    urls.push(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  const config = fakeClusterConfiguration(urls[0], {
    endpoints: [
      { name: 'cold', url: urls[0] },
      { name: 'warm', url: urls[1] },
    ],
    balancer: 'round-robin',
  });
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(config, dir),
    pino({ level: 'silent' }),
  );
  session = connect(`https://127.0.0.1:${gateway.address.port}`, pki.client);
});

after(async () => {
  session?.destroy();
  await gateway?.stop(0);
  for (const s of servers) await new Promise((r) => s.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = session.request({ ':path': path });
    let code = 0;
    let body = '';
    r.setEncoding('utf8');
    r.on('response', (h) => (code = Number(h[':status'])));
    r.on('data', (c: string) => (body += c));
    r.on('error', reject);
    r.on('end', () => resolve({ status: code, body }));
  });
}

async function fourTimes(path: string): Promise<{ status: number; body: string }[]> {
  const out = [];
  for (let i = 0; i < 4; i++) out.push(await get(path));
  return out;
}

const count = (name: 'cold' | 'warm', path: string) => hits[name].get(path) ?? 0;

test('a 429 "storage is (re)initializing" is retried on the replica that serves the resource', async () => {
  const path = '/apis/x.io/v1/widgets';
  assert.deepEqual(
    (await fourTimes(path)).map((r) => r.status),
    [200, 200, 200, 200],
  );
  // Round-robin counts the retries' picks too, so here each request goes to `cold` first.
  assert.ok(count('cold', path) >= 2, `the cold replica answered some (${count('cold', path)})`);
  assert.equal(count('warm', path), 4, 'the warm one answered each, retries included');
});

test('a plain-text 404 of a resource not served is retried; a 404 naming an object is not', async () => {
  const path = '/apis/x.io/v1/gadgets';
  assert.deepEqual(
    (await fourTimes(path)).map((r) => r.status),
    [200, 200, 200, 200],
  );
  assert.ok(count('cold', path) >= 2, `the cold replica answered some (${count('cold', path)})`);
  assert.equal(count('warm', path), 4, 'the warm one answered each, retries included');
  const named = '/apis/x.io/v1/namespaces/default/widgets/nope';
  const answers = await fourTimes(named);
  assert.deepEqual(
    answers.map((r) => [r.status, r.body]),
    Array(4).fill([404, NAMED_404]),
  );
  assert.equal(count('cold', named) + count('warm', named), 4, 'none retried');
});

test('a plain-text 404 in the core group (served from the start: the path is the problem) is relayed, not retried', async () => {
  const path = '/api/v1/namespaces/default/configmaps/../secrets';
  const statuses = (await fourTimes(path)).map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 404, 404]);
  assert.equal(count('cold', path) + count('warm', path), 4, 'none retried');
});

test('a 429 of API Priority and Fairness is relayed, not retried', async () => {
  const path = '/apis/x.io/v1/things';
  const statuses = (await fourTimes(path)).map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 429, 429]);
  assert.equal(count('cold', path) + count('warm', path), 4, 'none retried');
});
