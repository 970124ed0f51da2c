import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Server } from 'node:https';
import { after, before, test } from 'node:test';
import { FakeBackend, makePki, readAll, removePki, startKubelet, upgrade, type TestPki } from './fixtures.ts';

let pki: TestPki;
let kubelet: { server: Server; port: number };
const backend = new FakeBackend();

before(async () => {
  pki = await makePki();
  kubelet = await startKubelet(pki, backend);
});

after(async () => {
  backend.container?.kill();
  kubelet.server.closeAllConnections();
  await new Promise((r) => kubelet.server.close(r));
  await removePki(pki);
});

test('attach carries stdin in and stdout/stderr out until the container ends, then v4 Success', async () => {
  backend.container = spawn('sh', ['-c', 'read line; echo "got $line"; echo bye >&2']);
  const { session } = await upgrade(kubelet.port, pki, '/attach/ns1/pod1/c1?input=1&output=1&error=1', [
    'v4.channel.k8s.io',
  ]);
  const error = await session.openStream({ streamtype: 'error' });
  const stdin = await session.openStream({ streamtype: 'stdin' });
  const stdout = await session.openStream({ streamtype: 'stdout' });
  const stderr = await session.openStream({ streamtype: 'stderr' });
  stdin.write('hello\n');
  const [status, out, err] = await Promise.all([readAll(error), readAll(stdout), readAll(stderr)]);
  assert.equal(out.toString(), 'got hello\n');
  assert.equal(err.toString(), 'bye\n');
  assert.deepEqual(JSON.parse(status.toString()), { metadata: {}, status: 'Success' });
});

test('a client that leaves detaches without stopping the container', async () => {
  backend.container = spawn('sh', ['-c', 'while :; do echo tick; sleep 0.05; done']);
  const { session } = await upgrade(kubelet.port, pki, '/attach/ns1/pod1/c1?output=1', ['v4.channel.k8s.io']);
  await session.openStream({ streamtype: 'error' });
  const stdout = await session.openStream({ streamtype: 'stdout' });
  const first = (await stdout[Symbol.asyncIterator]().next()).value as Buffer;
  assert.match(first.toString(), /^tick/);
  const before = backend.detached;
  session.destroy();
  await session.closed;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(backend.detached, before + 1);
  assert.equal(backend.container.exitCode, null);
});

test('closing the server ends live sessions (and kills what exec started)', async () => {
  const own = await startKubelet(pki, backend);
  const { session } = await upgrade(own.port, pki, '/exec/ns1/pod1/c1?command=sleep&command=30&output=1', [
    'v4.channel.k8s.io',
  ]);
  await session.openStream({ streamtype: 'error' });
  await session.openStream({ streamtype: 'stdout' });
  const kills = backend.kills;
  const closed = new Promise((r) => own.server.close(r));
  await session.closed;
  await closed;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(backend.kills, kills + 1);
});
