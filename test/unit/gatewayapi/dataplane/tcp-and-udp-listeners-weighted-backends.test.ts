// TCP and UDP listeners: each TCP connection and each UDP client address goes to one backend,
// picked by weight (exact shares: smooth weighted round-robin; weight 0 gets nothing); TCP bytes
// flow both ways and a client's half-close reaches the backend; a listener whose backend has no
// endpoint closes connections and drops datagrams; a UDP client keeps its backend until idle.

import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import { StreamTable } from '../../../../src/gatewayapi/dataplane/l4/stream-table.ts';
import { UdpPortServer } from '../../../../src/gatewayapi/dataplane/l4/udp-port.ts';
import { SecureContextCache } from '../../../../src/gatewayapi/dataplane/tls-contexts.ts';
import type { StreamBackendIR, StreamPortIR } from '../../../../src/gatewayapi/ir.ts';
import { freePort, silent } from './helpers.ts';

const servers: Server[] = [];
const udpServers: UdpSocket[] = [];
let plane: DataPlane;
let tcpPort = 0;
let emptyPort = 0;
let udpPort = 0;

/** A TCP backend: sends its name, then on the client's FIN answers `bye <bytes it got>` and closes. */
async function tcpBackend(name: string): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    let got = 0;
    s.write(`${name}\n`);
    s.on('data', (d: Buffer) => (got += d.length));
    s.on('end', () => s.end(`bye ${got}\n`));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** A UDP backend answering each datagram with `<name>:<datagram>`. */
async function udpBackend(name: string): Promise<number> {
  const s = createSocket('udp4');
  s.on('message', (msg, from) => s.send(`${name}:${msg.toString()}`, from.port, from.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  udpServers.push(s);
  return s.address().port;
}

const weighted = (name: string, weight: number, port: number): StreamBackendIR => ({
  name,
  weight,
  endpoints: [{ address: '127.0.0.1', port }],
});

function streamPort(protocol: 'TCP' | 'UDP', port: number, backends: StreamBackendIR[]): StreamPortIR {
  return {
    gateway: 'infra/l4',
    address: '127.0.0.1',
    port,
    protocol,
    listeners: [
      { name: 'l', hostname: null, tls: null, hosts: [{ hostname: '*', route: 'infra/r', backends }] },
    ],
  };
}

before(async () => {
  const [a, b, c] = await Promise.all([tcpBackend('v1'), tcpBackend('v2'), tcpBackend('v3')]);
  const [ua, ub] = await Promise.all([udpBackend('u1'), udpBackend('u2')]);
  [tcpPort, emptyPort] = [await freePort(), await freePort()];
  udpPort = tcpPort; // a UDP socket may share the TCP socket's port number
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply({
    ports: [],
    clusters: {},
    streams: [
      streamPort('TCP', tcpPort, [weighted('v1', 7, a), weighted('v2', 3, b), weighted('v3', 0, c)]),
      streamPort('TCP', emptyPort, [{ name: 'none', weight: 1, endpoints: [] }]),
      streamPort('UDP', udpPort, [weighted('u1', 1, ua), weighted('u2', 1, ub)]),
    ],
  });
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane?.close();
  for (const s of servers) s.close();
  for (const s of udpServers) s.close();
});

/** Connects, sends `payload`, half-closes, and answers everything the gateway sent back. */
function exchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('connect', () => s.end(payload));
    s.on('error', () => resolve(`${got}closed`));
    s.on('close', () => resolve(got));
  });
}

test('TCP connections go to backends in the exact shares of their weights, none to weight 0', async () => {
  const counts: Record<string, number> = {};
  for (let i = 0; i < 100; i++) {
    const first = (await exchange(tcpPort, '')).split('\n')[0];
    counts[first] = (counts[first] ?? 0) + 1;
  }
  assert.deepEqual(counts, { v1: 70, v2: 30 });
});

test('TCP bytes reach the backend and its answer after the client half-closed comes back', async () => {
  const answer = await exchange(tcpPort, 'x'.repeat(100_000));
  assert.match(answer, /^v[12]\nbye 100000\n$/);
});

test('a TCP listener whose backend has no endpoint closes the connection', async () => {
  assert.equal(await exchange(emptyPort, 'hello'), '');
});

function udpClient(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  return new Promise((r) => s.bind(0, '127.0.0.1', () => r(s)));
}

function ask(s: UdpSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no UDP answer')), 2000);
    s.once('message', (msg) => {
      clearTimeout(timer);
      resolve(msg.toString());
    });
    s.send(text, udpPort, '127.0.0.1');
  });
}

test('each UDP client address gets a backend by weight and keeps it', async () => {
  const clients = await Promise.all([udpClient(), udpClient(), udpClient(), udpClient()]);
  const first = await Promise.all(clients.map((c, i) => ask(c, `hello ${i}`)));
  const backends = first.map((a) => a.split(':')[0]);
  assert.deepEqual(backends.toSorted(), ['u1', 'u1', 'u2', 'u2']);
  assert.deepEqual(
    first.map((a) => a.split(':')[1]),
    ['hello 0', 'hello 1', 'hello 2', 'hello 3'],
  );
  for (let round = 0; round < 3; round++) {
    const again = await Promise.all(clients.map((c) => ask(c, 'again')));
    assert.deepEqual(
      again.map((a) => a.split(':')[0]),
      backends,
    );
  }
  for (const c of clients) c.close();
});

test('answers come from the Gateway socket the client sent to', async () => {
  const c = await udpClient();
  const from = await new Promise<number>((resolve) => {
    c.once('message', (_m, rinfo) => resolve(rinfo.port));
    c.send('who', udpPort, '127.0.0.1');
  });
  assert.equal(from, udpPort);
  c.close();
});

test('a UDP session idle longer than the idle timeout is closed', async () => {
  const backend = await udpBackend('u3');
  const table = new StreamTable(
    streamPort('UDP', 0, [weighted('u3', 1, backend)]),
    new SecureContextCache(),
    silent,
  );
  const server = new UdpPortServer(table, { log: silent, idleMs: 200 });
  await server.listen();
  try {
    const c = await udpClient();
    const answer = await new Promise<string>((resolve) => {
      c.once('message', (m) => resolve(m.toString()));
      c.send('ping', server.boundPort, '127.0.0.1');
    });
    assert.equal(answer, 'u3:ping');
    assert.equal(server.sessions, 1);
    const deadline = Date.now() + 5000;
    while (server.sessions > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(server.sessions, 0);
    c.close();
  } finally {
    await server.close();
  }
});

test('a new table serves new connections while an open one keeps its backend; a removed port closes', async () => {
  const [a, b] = await Promise.all([tcpBackend('before'), tcpBackend('after')]);
  const port = await freePort();
  const swapping = new DataPlane({ log: silent });
  try {
    await swapping.apply({
      ports: [],
      clusters: {},
      streams: [streamPort('TCP', port, [weighted('a', 1, a)])],
    });
    const open = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let got = '';
    open.on('data', (d: Buffer) => (got += d.toString()));
    const closed = new Promise<void>((r) => open.on('close', () => r()));
    while (!got.includes('\n')) await sleep(10);

    const { failed } = await swapping.apply({
      ports: [],
      clusters: {},
      streams: [streamPort('TCP', port, [weighted('b', 1, b)])],
    });
    assert.deepEqual(failed, []);
    assert.equal((await exchange(port, '')).split('\n')[0], 'after');
    open.end('still here');
    await closed;
    assert.equal(got, 'before\nbye 10\n');

    await swapping.apply({ ports: [], clusters: {} });
    assert.match(await exchange(port, ''), /closed$|^$/);
  } finally {
    await swapping.close();
  }
});
