import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';

// The gateway in-process in front of a fake apiserver whose /readyz answers 200 while `up`: the
// admin /readyz is 200, 503 with the reason once the only endpoint fails its health checks, 200
// when it is back, and 503 "shutting down" from the start of a graceful stop until the admin
// listener closes.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway;
let up = true;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-readiness-'));
  const ca = await createCA(dir, 'ca', 'readiness-test-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const [apiserver] = await Promise.all([
    issueCert(dir, 'apiserver', ca, { cn: 'fake-apiserver', usage: 'server', ...local }),
    issueCert(dir, 'gateway', ca, { cn: 'kubegate', usage: 'server', ...local }),
  ]);
  const pem = (f: string) => readFile(f, 'utf8');
  upstream = createSecureServer({ cert: await pem(apiserver.cert), key: await pem(apiserver.key) });
  upstream.on('stream', (stream: ServerHttp2Stream) => {
    stream.resume();
    stream.respond({ ':status': up ? 200 : 500 });
    stream.end(up ? 'ok' : 'down');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const config = await resolveGatewayConfiguration(
    fakeClusterConfiguration(
      `https://127.0.0.1:${port}`,
      { healthCheck: { intervalSeconds: 0.2, timeoutSeconds: 1, rise: 1, fall: 1 } },
      { admin: { port: 0 }, shutdown: { delaySeconds: 1 } },
    ),
    dir,
  );
  gateway = await RunningGateway.start(config, pino({ level: 'silent' }));
  await gateway.startAdmin(pino({ level: 'silent' }));
});

after(async () => {
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function readyz(): Promise<{ status: number; body: string }> {
  const res = await fetch(`${gateway.admin!.url}/readyz`);
  return { status: res.status, body: await res.text() };
}

async function eventually(status: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await readyz();
    if (r.status === status || Date.now() > deadline) return r;
    await sleep(50);
  }
}

test('admin /readyz follows the health of the served cluster', async () => {
  assert.equal((await eventually(200)).status, 200);
  up = false;
  const down = await eventually(503);
  assert.equal(down.status, 503);
  assert.equal(down.body, 'not ready: cluster "fake" has no healthy endpoint\n');
  up = true;
  assert.equal((await eventually(200)).status, 200);
});

test('admin /readyz is 503 from the start of a graceful stop', async () => {
  const stopped = gateway.stop(0); // shutdown.delaySeconds: 1 s of serving with readiness off
  const r = await readyz();
  assert.equal(r.status, 503);
  assert.equal(r.body, 'not ready: shutting down\n');
  await stopped;
  await assert.rejects(fetch(`${gateway.admin!.url}/healthz`), 'the admin listener is closed after the stop');
});
