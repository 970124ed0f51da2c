import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { HealthCheckServers } from '../../../src/node/health-check.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('healthCheckNodePort answers 200 with local endpoints, 503 without, and closes when the Service goes', async () => {
  const port = await freePort();
  const servers = new HealthCheckServers(pino({ level: 'silent' }));
  try {
    servers.update([{ namespace: 'shop', name: 'web', port, localEndpoints: 2 }]);
    await new Promise((r) => setTimeout(r, 50));
    let res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      service: { namespace: 'shop', name: 'web' },
      localEndpoints: 2,
      serviceProxyHealthy: true,
    });
    servers.update([{ namespace: 'shop', name: 'web', port, localEndpoints: 0 }]);
    res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { localEndpoints: number }).localEndpoints, 0);
    servers.update([]);
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } }));
  } finally {
    servers.close();
  }
});
