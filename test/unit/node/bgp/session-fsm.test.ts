import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, test } from 'node:test';
import { encodeKeepalive, encodeUpdate } from '../../../../src/node/bgp/message/index.ts';
import { retryDelay } from '../../../../src/node/bgp/session/backoff.ts';
import { Session, type SessionDown, type SessionState } from '../../../../src/node/bgp/session/session.ts';
import { RawPeer } from './raw-peer.ts';
import { SimulatedClock } from './simulated-clock.ts';

const cleanup: (() => void)[] = [];
after(() => cleanup.forEach((f) => f()));

async function listenFor(session: () => Session): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => session().acceptIncoming(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => server.close());
  return { server, port: (server.address() as AddressInfo).port };
}

function waitState(s: Session, want: SessionState, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.state === want) return resolve();
    const t = setTimeout(() => reject(new Error(`state ${s.state}, wanted ${want}`)), ms);
    const iv = setInterval(() => {
      if (s.state === want) {
        clearTimeout(t);
        clearInterval(iv);
        resolve();
      }
    }, 10);
  });
}

test('two speakers reach Established with the smaller hold time and only the families both offered', async () => {
  const { port } = await listenFor(() => b);
  const b = new Session({
    peerAddress: '127.0.0.1',
    peerAs: 65001,
    localAs: 65002,
    routerId: '10.0.0.2',
    holdTime: 30,
    passive: true,
  });
  const a = new Session({
    peerAddress: '127.0.0.1',
    port,
    peerAs: 65002,
    localAs: 65001,
    routerId: '10.0.0.1',
    holdTime: 90,
    families: ['ipv4-unicast', 'ipv6-unicast'],
  });
  cleanup.push(() => (a.stop(), b.stop()));
  b.start();
  a.start();
  await waitState(a, 'established');
  await waitState(b, 'established');
  assert.equal(a.negotiated?.holdTime, 30);
  assert.equal(a.negotiated?.keepaliveTime, 10);
  assert.deepEqual(a.negotiated?.families, ['ipv4-unicast']);
  assert.equal(a.negotiated?.fourOctetAs, true);
  a.stop();
  b.stop();
});

test('a silent peer is dropped with Hold Timer Expired when the negotiated hold time passes', async () => {
  const peer = new RawPeer();
  const port = await peer.listen();
  cleanup.push(() => peer.close());
  const clock = new SimulatedClock();
  const downs: SessionDown[] = [];
  const a = new Session(
    { peerAddress: '127.0.0.1', port, peerAs: 65002, localAs: 65001, routerId: '10.0.0.1', holdTime: 9 },
    { down: (d) => downs.push(d) },
    { clock, random: () => 1 },
  );
  cleanup.push(() => a.stop());
  a.start();
  await peer.until(() => peer.types().includes('open'));
  peer.sendOpen(65002, '10.0.0.2', 60);
  peer.socket!.write(encodeKeepalive());
  await waitState(a, 'established');
  clock.advance(3000); // keepalive interval is 9/3 s
  await peer.until(() => peer.types().filter((t) => t === 'keepalive').length >= 2);
  clock.advance(9000);
  await peer.until(() => peer.ended);
  assert.deepEqual(peer.received.at(-1), {
    type: 'notification',
    code: 4,
    subcode: 0,
    data: Buffer.alloc(0),
  });
  assert.equal(downs[0]?.kind, 'hold-timer-expired');
  assert.equal(a.state, 'idle');
});

test('a wrong peer AS gets OPEN Message Error / Bad Peer AS', async () => {
  const peer = new RawPeer();
  const port = await peer.listen();
  cleanup.push(() => peer.close());
  const a = new Session({
    peerAddress: '127.0.0.1',
    port,
    peerAs: 65002,
    localAs: 65001,
    routerId: '10.0.0.1',
  });
  cleanup.push(() => a.stop());
  a.start();
  await peer.until(() => peer.types().includes('open'));
  peer.sendOpen(65099, '10.0.0.2');
  await peer.until(() => peer.ended);
  const n = peer.received.at(-1);
  assert.ok(n?.type === 'notification');
  assert.deepEqual([n.code, n.subcode], [2, 2]);
  a.stop();
});

test('an UPDATE before the session is Established is a Finite State Machine Error', async () => {
  const peer = new RawPeer();
  const port = await peer.listen();
  cleanup.push(() => peer.close());
  const a = new Session({
    peerAddress: '127.0.0.1',
    port,
    peerAs: 65002,
    localAs: 65001,
    routerId: '10.0.0.1',
  });
  cleanup.push(() => a.stop());
  a.start();
  await peer.until(() => peer.types().includes('open'));
  peer.sendOpen(65002, '10.0.0.2');
  await peer.until(() => peer.types().includes('keepalive'));
  peer.socket!.write(
    encodeUpdate({ withdrawn: ['10.0.0.0/8'], attributes: {}, nlri: [] }, { fourOctetAs: true }),
  );
  await peer.until(() => peer.ended);
  const n = peer.received.at(-1);
  assert.ok(n?.type === 'notification');
  assert.deepEqual([n.code, n.subcode], [5, 2]);
  a.stop();
});

test('stop sends Cease / Administrative Shutdown; a graceful stop only closes the connection', async () => {
  for (const graceful of [false, true]) {
    const peer = new RawPeer();
    const port = await peer.listen();
    cleanup.push(() => peer.close());
    const a = new Session({
      peerAddress: '127.0.0.1',
      port,
      peerAs: 65002,
      localAs: 65001,
      routerId: '10.0.0.1',
    });
    a.start();
    await peer.until(() => peer.types().includes('open'));
    peer.sendOpen(65002, '10.0.0.2');
    peer.socket!.write(encodeKeepalive());
    await waitState(a, 'established');
    a.stop({ graceful });
    await peer.until(() => peer.ended);
    const last = peer.received.at(-1);
    if (graceful) assert.equal(last?.type, 'keepalive');
    else assert.deepEqual(last, { type: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) });
  }
});

test('simultaneous connections: the one opened by the higher BGP Identifier survives (RFC 4271 §6.8)', async () => {
  // Accepted sockets are held until both sides have connected, so the two connections collide.
  const held: (() => void)[] = [];
  const gate = async (session: () => Session): Promise<number> => {
    const server = createServer((s) => {
      held.push(() => session().acceptIncoming(s));
      if (held.length === 2) held.forEach((f) => f());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.push(() => server.close());
    return (server.address() as AddressInfo).port;
  };
  const portA = await gate((): Session => a);
  const portB = await gate((): Session => b);
  const a: Session = new Session({
    peerAddress: '127.0.0.1',
    port: portB,
    peerAs: 65002,
    localAs: 65001,
    routerId: '10.0.0.1',
  });
  const b: Session = new Session({
    peerAddress: '127.0.0.1',
    port: portA,
    peerAs: 65001,
    localAs: 65002,
    routerId: '10.0.0.2',
  });
  cleanup.push(() => (a.stop(), b.stop()));
  a.start();
  b.start();
  await waitState(a, 'established');
  await waitState(b, 'established');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(a.state, 'established');
  assert.equal(b.state, 'established');
  // B has the higher identifier: the connection B opened is the one kept.
  assert.equal(a.connectionOrigin, 'incoming');
  assert.equal(b.connectionOrigin, 'outgoing');
  a.stop();
  b.stop();
});

test('a peer that keeps failing is retried later each time, with jitter', async () => {
  assert.equal(
    retryDelay(5000, 0, 300_000, () => 1),
    5000,
  );
  assert.equal(
    retryDelay(5000, 0, 300_000, () => 0),
    3750,
  );
  assert.equal(
    retryDelay(5000, 3, 300_000, () => 1),
    40_000,
  );
  assert.equal(
    retryDelay(5000, 30, 300_000, () => 1),
    300_000,
  );
  // A peer that accepts and closes at once: each failure doubles the next wait.
  const server = createServer((s) => s.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => server.close());
  const clock = new SimulatedClock();
  const a = new Session(
    {
      peerAddress: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      peerAs: 65002,
      localAs: 65001,
      routerId: '10.0.0.1',
    },
    {},
    { clock, random: () => 1 },
  );
  cleanup.push(() => a.stop());
  a.start();
  const waits: number[] = [];
  for (let i = 1; i <= 3; i++) {
    const deadline = Date.now() + 5000;
    while (a.failures < i && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(a.state, 'idle');
    waits.push(Math.max(...clock.pending()));
    clock.advance(Math.max(...clock.pending()));
  }
  assert.deepEqual(waits, [10_000, 20_000, 40_000]);
  a.stop();
});

test('a restarting speaker sends the R bit and keeps forwarding state per family', async () => {
  const peer = new RawPeer();
  const port = await peer.listen();
  cleanup.push(() => peer.close());
  const a = new Session(
    {
      peerAddress: '127.0.0.1',
      port,
      peerAs: 65002,
      localAs: 65001,
      routerId: '10.0.0.1',
      families: ['ipv4-unicast', 'ipv6-unicast'],
      gracefulRestart: { restartTime: 120 },
    },
    {},
    { restarting: true },
  );
  cleanup.push(() => a.stop());
  a.start();
  await peer.until(() => peer.types().includes('open'));
  const open = peer.received[0];
  assert.ok(open.type === 'open');
  assert.deepEqual(open.capabilities.gracefulRestart, {
    restarting: true,
    time: 120,
    families: [
      { afi: 1, safi: 1, forwardingPreserved: true },
      { afi: 2, safi: 1, forwardingPreserved: true },
    ],
  });
  a.stop();
});
