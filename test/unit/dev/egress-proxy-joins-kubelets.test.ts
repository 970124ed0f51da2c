import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EgressProxy, KUBELET_PORT, kubeletSocket } from '../../../src/dev/egress-proxy.ts';

const dir = mkdtempSync(join(tmpdir(), 'egress-'));
let proxy: EgressProxy;
const servers: Server[] = [];

function echoServer(): Server {
  const s = createServer((c) => c.pipe(c));
  servers.push(s);
  return s;
}

/** Sends CONNECT through the proxy; resolves with the status line and the socket. */
function connectVia(target: string): Promise<{ status: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.socket);
    socket.once('error', reject);
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({ status: buf.slice(0, buf.indexOf('\r\n')), socket });
    };
    socket.on('data', onData);
  });
}

function roundTrip(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (c: Buffer) => resolve(c.toString()));
    socket.write(text);
  });
}

before(async () => {
  mkdirSync(join(dir, 'kubelets'));
  const kubelet = echoServer();
  await new Promise<void>((r) => kubelet.listen(kubeletSocket(dir, '10.250.0.10'), r));
  proxy = await EgressProxy.start(dir);
});

after(async () => {
  await proxy.close();
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('CONNECT to a node address on the kubelet port is joined to that node podlet socket', async () => {
  const { status, socket } = await connectVia(`10.250.0.10:${KUBELET_PORT}`);
  assert.match(status, /^HTTP\/1\.1 200 /);
  assert.equal(await roundTrip(socket, 'hello kubelet'), 'hello kubelet');
  socket.destroy();
});

test('CONNECT to any other address is dialled directly, as the apiserver would', async () => {
  const s = echoServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  const { status, socket } = await connectVia(`127.0.0.1:${port}`);
  assert.match(status, /^HTTP\/1\.1 200 /);
  assert.equal(await roundTrip(socket, 'ping'), 'ping');
  socket.destroy();
});

test('a refused dial is answered 502 with the reason, and a bad target 400', async () => {
  const s = echoServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  const refused = await connectVia(`127.0.0.1:${port}`);
  assert.match(refused.status, /^HTTP\/1\.1 502 /);
  refused.socket.destroy();
  const bad = await connectVia('not-an-address:1');
  assert.match(bad.status, /^HTTP\/1\.1 400 /);
  bad.socket.destroy();
});

test('CONNECT to an exposed address and port is joined to that loopback port', async () => {
  // The gateway's APIService Endpoints address (Endpoints may not be loopback): never routed
  // anywhere, it stands for the gateway's loopback listener.
  const s = echoServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  proxy.expose('192.0.2.1', port);
  const { status, socket } = await connectVia(`192.0.2.1:${port}`);
  assert.match(status, /^HTTP\/1\.1 200 /);
  assert.equal(await roundTrip(socket, 'to the gateway'), 'to the gateway');
  socket.destroy();
});
