import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  connect,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// A request admitted by one generation of its cluster whose endpoint a reload then retires (a
// credential rotated, an endpoint renamed or moved) before the request reached it: it goes to the
// live generation instead of failing with 503. Here it waits in the rule's queue behind a held
// request while the reload happens.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let session: ClientHttp2Session;
let upstreamURL = '';
const held: ServerHttp2Stream[] = [];

const RULES = [
  { name: 'one-at-a-time', match: {}, limits: { maxInflightReadOnly: 1, queue: { length: 5 } } },
];

const config = (endpoint: string) =>
  fakeClusterConfiguration(upstreamURL, {
    endpoints: [{ name: endpoint, url: upstreamURL }],
    rules: RULES,
  });

before(async () => {
  const pki = await fakeClusterPKI('reroute');
  dir = pki.dir;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (String(headers[':path']).endsWith('/held')) {
      held.push(stream);
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end('{"kind":"ConfigMap"}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamURL = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(config('first'), dir),
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

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const r = session.request({ ':path': `/api/v1/namespaces/default/configmaps/${path}` });
    let status = 0;
    let body = '';
    r.setEncoding('utf8');
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (c: string) => (body += c));
    r.on('error', () => {});
    r.on('close', () => resolve({ status, body }));
  });
}

test('a queued request whose endpoint a reload retired is served by the new generation', async () => {
  assert.equal((await get('warm')).status, 200);
  const first = get('held');
  for (let i = 0; i < 200 && held.length === 0; i++) await sleep(5);
  assert.equal(held.length, 1, 'the first request holds the only slot');
  const queued = get('queued');
  await sleep(50);
  // Same apiserver, new endpoint name: the old endpoint (and its session pool) is retired.
  await gateway!.reload(await resolveGatewayConfiguration(config('second'), dir));
  held[0].respond({ ':status': 200 });
  held[0].end('{"kind":"ConfigMap"}');
  assert.equal((await first).status, 200, 'the request in flight on the retired endpoint finished');
  const r = await queued;
  assert.equal(r.status, 200, r.body);
});
