import assert from 'node:assert/strict';
import { get, type Server } from 'node:https';
import { after, before, test } from 'node:test';
import {
  FakeBackend,
  makePki,
  readAll,
  removePki,
  startKubelet,
  upgrade,
  UpgradeRefused,
  type Pem,
  type TestPki,
} from './fixtures.ts';

let pki: TestPki;
let kubelet: { server: Server; port: number };

before(async () => {
  pki = await makePki();
  kubelet = await startKubelet(pki, new FakeBackend());
});

after(async () => {
  kubelet.server.closeAllConnections();
  await new Promise((r) => kubelet.server.close(r));
  await removePki(pki);
});

function healthz(client: Pem | null): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(
      {
        host: '127.0.0.1',
        port: kubelet.port,
        path: '/healthz',
        ca: pki.ca,
        ...(client ?? {}),
        servername: 'localhost',
      },
      (res) =>
        void readAll(res).then((b) => resolve({ status: res.statusCode ?? 0, body: b.toString() }), reject),
    ).once('error', reject);
  });
}

test('a client certificate from the CA gets in', async () => {
  assert.deepEqual(await healthz(pki.client), { status: 200, body: 'ok' });
});

test('no client certificate, or one from another CA, is 401', async () => {
  assert.equal((await healthz(null)).status, 401);
  assert.equal((await healthz(pki.rogue)).status, 401);
});

test('an upgrade with a certificate from another CA is 401 before any SPDY', async () => {
  await assert.rejects(
    upgrade(kubelet.port, pki, '/exec/ns1/pod1/c1?command=true&output=1', ['v4.channel.k8s.io'], pki.rogue),
    (err: unknown) => err instanceof UpgradeRefused && err.status === 401,
  );
});
