import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { APISocket } from '../../../src/dev/api-socket.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

test('a KubeClient with socketPath reaches a loopback TLS server through the API socket, verifying its certificate', async () => {
  const pki = await fakeClusterPKI('api-socket');
  const server = createServer({ ...pki.apiserver }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, host: req.headers.host }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const sock = await APISocket.start(join(pki.dir, 'api.sock'), port);
  // The server named in the URL is never dialled: a port nothing listens on proves it.
  const client = new KubeClient({ server: 'https://127.0.0.1:1', ca: pki.client.ca, socketPath: sock.path });
  after(async () => {
    client.close();
    await sock.stop();
    server.close();
    await rm(pki.dir, { recursive: true, force: true });
  });
  const body = await client.json<{ path: string; host: string }>('GET', '/api/v1/namespaces');
  assert.equal(body.path, '/api/v1/namespaces');
  assert.equal(body.host, '127.0.0.1:1');

  const wrongCA = new KubeClient({
    server: 'https://127.0.0.1:1',
    ca: pki.apiserver.cert,
    socketPath: sock.path,
  });
  await assert.rejects(wrongCA.json('GET', '/'), /certificate|self.signed|issuer/i);
  wrongCA.close();
});
