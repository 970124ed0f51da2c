import assert from 'node:assert/strict';
import { createServer as createNet, type Server as NetServer } from 'node:net';
import { Agent, request } from 'node:http';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { DataPlaneIR } from '../../../../src/gatewayapi/ir.ts';
import {
  backend,
  cluster,
  freePort,
  httpPort,
  listener,
  route,
  send,
  silent,
  simpleIR,
  startEcho,
  vhost,
  type Echo,
} from './helpers.ts';

let plane: DataPlane;
let registry: Registry;
let v1: Echo;
let v2: Echo;
let port = 0;
let blocker: NetServer;
let blockedPort = 0;
/** Client ports the backends saw, per backend: few ports means pooled connections. */
const upstreamPorts = new Map<string, Set<number>>();

function ir(to: 'v1' | 'v2', extra: DataPlaneIR['ports'] = []): DataPlaneIR {
  const base = simpleIR(
    port,
    [route(`to-${to}`, { backends: [backend(to)] })],
    [cluster('v1', [v1.port]), cluster('v2', [v2.port])],
  );
  return { ports: [...base.ports, ...extra], clusters: base.clusters };
}

before(async () => {
  const track = (name: string) =>
    startEcho(name, (req) => {
      let s = upstreamPorts.get(name);
      if (s === undefined) upstreamPorts.set(name, (s = new Set()));
      s.add(req.socket.remotePort ?? 0);
      return false;
    });
  v1 = await track('v1');
  v2 = await track('v2');
  port = await freePort();
  blocker = createNet();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  blockedPort = (blocker.address() as { port: number }).port;
  registry = new Registry();
  plane = new DataPlane({ log: silent, registry });
  assert.deepEqual((await plane.apply(ir('v1'))).failed, []);
});

after(async () => {
  await plane.close();
  await v1.close();
  await v2.close();
  await new Promise<void>((r) => blocker.close(() => r()));
});

test('applies that swap the routes while requests are in flight fail none of them', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const one = () =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(JSON.parse(body).server) : reject(new Error(`${res.statusCode}`)),
        );
      });
      req.on('error', reject);
      req.end();
    });
  let stop = false;
  const seen = new Set<string>();
  const clients = Array.from({ length: 8 }, async () => {
    let n = 0;
    while (!stop) {
      seen.add(await one());
      n++;
    }
    return n;
  });
  for (let i = 0; i < 20; i++) {
    await plane.apply(ir(i % 2 === 0 ? 'v2' : 'v1'));
    await new Promise((r) => setTimeout(r, 10));
  }
  stop = true;
  const counts = await Promise.all(clients);
  agent.destroy();
  assert.ok(counts.reduce((a, b) => a + b) > 50, 'requests kept flowing');
  assert.deepEqual([...seen].sort(), ['v1', 'v2']);
  // The clusters persisted, so did their keep-alive pools: far fewer connections than requests.
  assert.ok(upstreamPorts.get('v1')!.size <= 16, `v1 connections: ${upstreamPorts.get('v1')!.size}`);
});

test('an apply binds new sockets, reports the one it cannot bind and closes removed ones', async () => {
  const extra = await freePort();
  const { failed } = await plane.apply(
    ir('v1', [
      httpPort(
        extra,
        [listener('extra', null, [vhost('*', [route('extra', { backends: [backend('v2')] })])])],
        'ns/extra',
      ),
      httpPort(blockedPort, [listener('blocked', null, [])], 'ns/blocked'),
      httpPort(port, [], 'ns/duplicate'),
    ]),
  );
  assert.deepEqual(
    failed.map((f) => [f.gateway, f.port]),
    [
      ['ns/duplicate', port],
      ['ns/blocked', blockedPort],
    ],
  );
  assert.equal((await send(extra, { path: '/' })).echo?.server, 'v2');
  assert.equal((await send(port, { path: '/' })).echo?.server, 'v1');
  await plane.apply(ir('v1'));
  await assert.rejects(send(extra, { path: '/' }), /ECONNREFUSED/);
});

test('a socket an apply removes finishes the requests it has in flight', async () => {
  const slow = await startEcho('slow', (_req, res) => {
    setTimeout(() => res.end('done'), 300);
    return true;
  });
  const extra = await freePort();
  const extraPort = httpPort(extra, [
    listener('slow', null, [vhost('*', [route('slow', { backends: [backend('slow')] })])]),
  ]);
  const withSlow = ir('v1', [extraPort]);
  await plane.apply({
    ports: withSlow.ports,
    clusters: { ...withSlow.clusters, slow: cluster('slow', [slow.port]) },
  });
  const pending = send(extra, { path: '/' });
  await new Promise((r) => setTimeout(r, 50));
  await plane.apply(ir('v1'));
  const a = await pending;
  assert.equal(a.status, 200);
  assert.equal(a.body, 'done');
  await slow.close();
});

test('a port that changes protocol is bound again with the new one', async () => {
  const p = await freePort();
  const served = (protocol: 'HTTP' | 'HTTPS'): DataPlaneIR => {
    const base = ir('v1', [
      {
        ...httpPort(p, [listener('l', null, [vhost('*', [route('r', { backends: [backend('v2')] })])])]),
        protocol,
      },
    ]);
    return base;
  };
  assert.deepEqual((await plane.apply(served('HTTP'))).failed, []);
  assert.equal((await send(p, { path: '/' })).echo?.server, 'v2');
  assert.deepEqual((await plane.apply(served('HTTPS'))).failed, []);
  // Now a TLS socket (without a usable certificate): plain HTTP gets no answer.
  await assert.rejects(send(p, { path: '/' }));
  assert.deepEqual((await plane.apply(served('HTTP'))).failed, []);
  assert.equal((await send(p, { path: '/' })).echo?.server, 'v2');
  await plane.apply(ir('v1'));
});

test('requests are counted by gateway and status class', async () => {
  const text = await registry.metrics();
  assert.match(text, /kubegate_gatewayapi_requests_total\{gateway="default\/gw",code_class="2xx"\} \d+/);
  assert.match(text, /kubegate_gatewayapi_request_duration_seconds_count\{gateway="default\/gw"\} \d+/);
});
