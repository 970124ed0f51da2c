import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:https';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { after, before, test } from 'node:test';
import {
  FakeBackend,
  makePki,
  readAll,
  removePki,
  startKubelet,
  upgrade,
  UpgradeRefused,
  type TestPki,
} from './fixtures.ts';

let pki: TestPki;
let kubelet: { server: Server; port: number };
let pod: NetServer;
let podPort: number;

before(async () => {
  pki = await makePki();
  kubelet = await startKubelet(pki, new FakeBackend());
  // The "pod": answers with the sha256 of everything it got, then a fixed blob, then closes.
  pod = createServer({ allowHalfOpen: true }, (conn) => {
    const hash = createHash('sha256');
    conn.on('data', (c: Buffer) => hash.update(c));
    conn.on('end', () => conn.end(Buffer.concat([Buffer.from(hash.digest('hex') + '\n'), reply])));
  });
  pod.listen(0, '127.0.0.1');
  await once(pod, 'listening');
  podPort = (pod.address() as AddressInfo).port;
});

after(async () => {
  kubelet.server.closeAllConnections();
  await new Promise((r) => kubelet.server.close(r));
  pod.close();
  await removePki(pki);
});

const reply = randomBytes(3 * 1024 * 1024);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('two forwarded connections on one session carry several MiB each way with matching checksums', async () => {
  const { session, protocol } = await upgrade(kubelet.port, pki, '/portForward/ns1/pod1', [
    'portforward.k8s.io',
  ]);
  assert.equal(protocol, 'portforward.k8s.io');
  const forward = async (requestID: string) => {
    const headers = { port: String(podPort), requestid: requestID };
    const error = await session.openStream({ ...headers, streamtype: 'error' });
    error.end(); // kubectl never writes on the error stream
    const data = await session.openStream({ ...headers, streamtype: 'data' });
    const sent = randomBytes(5 * 1024 * 1024);
    const received = readAll(data);
    data.end(sent);
    const got = await received;
    const nl = got.indexOf(0x0a);
    assert.equal(got.subarray(0, nl).toString(), sha(sent));
    assert.equal(sha(got.subarray(nl + 1)), sha(reply));
    assert.equal((await readAll(error)).length, 0);
  };
  await Promise.all([forward('0'), forward('1')]);
  await session.close();
});

test('a port with nothing listening is reported as text on that request’s error stream', async () => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const deadPort = (closed.address() as AddressInfo).port;
  closed.close();
  const { session } = await upgrade(kubelet.port, pki, '/portForward/ns1/pod1', ['portforward.k8s.io']);
  const headers = { port: String(deadPort), requestid: '0' };
  const error = await session.openStream({ ...headers, streamtype: 'error' });
  const data = await session.openStream({ ...headers, streamtype: 'data' });
  const [message, payload] = await Promise.all([readAll(error), readAll(data)]);
  assert.match(
    message.toString(),
    new RegExp(`^error forwarding port ${deadPort} to pod pod1, uid : .*ECONNREFUSED`),
  );
  assert.equal(payload.length, 0);
  await session.close();
});

test('a stream without a valid port header is refused (SYN_REPLY with FIN)', async () => {
  const { session } = await upgrade(kubelet.port, pki, '/portForward/ns1/pod1', ['portforward.k8s.io']);
  const bad = await session.openStream({ streamtype: 'data', port: 'http', requestid: '7' });
  assert.equal((await readAll(bad)).length, 0);
  assert.equal(bad.remoteFinished, true);
  await session.close();
});

test('port-forward to a pod not on this node is answered 404 before the upgrade', async () => {
  await assert.rejects(
    upgrade(kubelet.port, pki, '/portForward/ns1/missing', ['portforward.k8s.io']),
    (err: unknown) => err instanceof UpgradeRefused && err.status === 404,
  );
});
