import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createH2cServer, type Http2Server } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { createCA, loadCert } from '../../../../../src/dev/pki.ts';
import { runProbe, type ProbeContext } from '../../../../../src/dev/podlet/spec/index.ts';

const servers: { close(): unknown }[] = [];
let dir: string;
let http: Server;
let httpPort: number;
let seen: { url?: string; headers?: IncomingHttpHeaders } = {};

function listen<T extends Server | Http2Server>(s: T): Promise<number> {
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

function dial(host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const ctx = (over: Partial<ProbeContext> = {}): ProbeContext => ({
  podIP: '127.0.0.1',
  containerPorts: [{ name: 'web', containerPort: httpPort }],
  connect: dial,
  exec: async () => ({ code: 0, output: '' }),
  ...over,
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podlet-probe-'));
  http = createServer((req, res) => {
    seen = { url: req.url, headers: req.headers };
    if (req.url === '/fail') return res.writeHead(500).end('boom');
    if (req.url === '/moved') return res.writeHead(302, { location: '/elsewhere' }).end('go');
    if (req.url === '/slow') return; // never answers
    res.end('healthy');
  });
  httpPort = await listen(http);
});
after(async () => {
  for (const s of servers) {
    (s as Server).closeAllConnections?.();
    s.close();
  }
  await rm(dir, { recursive: true, force: true });
});

test('httpGet: 2xx and 3xx succeed, with the kubelet user agent, headers and a named port', async () => {
  const ok = await runProbe(
    { httpGet: { path: '/healthz?x=1', port: 'web', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } },
    ctx(),
  );
  assert.deepEqual(ok, { ok: true, message: 'healthy' });
  assert.equal(seen.url, '/healthz?x=1');
  assert.equal(seen.headers?.['user-agent'], 'kube-probe/1.37');
  assert.equal(seen.headers?.accept, '*/*');
  assert.equal(seen.headers?.['x-probe'], 'yes');
  assert.equal(seen.headers?.host, `127.0.0.1:${httpPort}`);

  await runProbe(
    {
      httpGet: {
        port: httpPort,
        httpHeaders: [
          { name: 'Host', value: 'example.test' },
          { name: 'User-Agent', value: 'me' },
        ],
      },
    },
    ctx(),
  );
  assert.equal(seen.url, '/');
  assert.equal(seen.headers?.host, 'example.test');
  assert.equal(seen.headers?.['user-agent'], 'me');

  assert.equal((await runProbe({ httpGet: { path: '/moved', port: httpPort } }, ctx())).ok, true);
});

test('httpGet: error statuses, refused connections, timeouts and unknown ports fail', async () => {
  assert.deepEqual(await runProbe({ httpGet: { path: '/fail', port: httpPort } }, ctx()), {
    ok: false,
    message: 'HTTP probe failed with statuscode: 500',
  });
  const closed = createServer();
  const closedPort = await listen(closed);
  closed.close();
  assert.deepEqual(await runProbe({ httpGet: { path: '/', port: closedPort } }, ctx()), {
    ok: false,
    message: `Get "http://127.0.0.1:${closedPort}/": dial tcp 127.0.0.1:${closedPort}: connect: connection refused`,
  });
  const started = Date.now();
  const slow = await runProbe({ httpGet: { path: '/slow', port: httpPort }, timeoutSeconds: 1 }, ctx());
  assert.equal(slow.ok, false);
  assert.match(
    slow.message,
    /^Get "http:\/\/127\.0\.0\.1:\d+\/slow": context deadline exceeded \(Client\.Timeout/,
  );
  assert.ok(Date.now() - started < 2500);
  assert.deepEqual(await runProbe({ httpGet: { port: 'metrics' } }, ctx()), {
    ok: false,
    message: 'port metrics not found',
  });
});

test('httpGet over HTTPS does not verify the certificate', async () => {
  const ca = await loadCert(await createCA(dir, 'self', 'self-signed'));
  const https = createHttpsServer(ca, (_req, res) => res.end('secure'));
  const port = await listen(https as unknown as Server);
  assert.deepEqual(await runProbe({ httpGet: { scheme: 'HTTPS', path: '/', port } }, ctx()), {
    ok: true,
    message: 'secure',
  });
});

test('tcpSocket succeeds when the port accepts and fails otherwise', async () => {
  assert.deepEqual(await runProbe({ tcpSocket: { port: 'web' } }, ctx()), { ok: true, message: '' });
  const closed = createServer();
  const port = await listen(closed);
  closed.close();
  assert.deepEqual(await runProbe({ tcpSocket: { port } }, ctx()), {
    ok: false,
    message: `dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
  const hung = await runProbe(
    { tcpSocket: { port: 1 }, timeoutSeconds: 1 },
    ctx({ connect: () => new Promise(() => {}) }),
  );
  assert.deepEqual(hung, { ok: false, message: 'dial tcp 127.0.0.1:1: i/o timeout' });
});

test('exec succeeds on exit 0 and reports output; a hung command times out', async () => {
  let asked: [string[], number] | undefined;
  const exec = async (argv: string[], timeoutMs: number) => {
    asked = [argv, timeoutMs];
    return argv[0] === 'ok' ? { code: 0, output: 'fine' } : { code: 3, output: 'not ready' };
  };
  assert.deepEqual(await runProbe({ exec: { command: ['ok'] }, timeoutSeconds: 5 }, ctx({ exec })), {
    ok: true,
    message: 'fine',
  });
  assert.deepEqual(asked, [['ok'], 5000]);
  assert.deepEqual(await runProbe({ exec: { command: ['bad'] } }, ctx({ exec })), {
    ok: false,
    message: 'not ready',
  });
  const hung = await runProbe(
    { exec: { command: ['sleep', '9'] } },
    ctx({ exec: () => new Promise(() => {}) }),
  );
  assert.deepEqual(hung, { ok: false, message: 'command "sleep 9" timed out' });
});

test('grpc health checks: SERVING, NOT_SERVING, unimplemented', async () => {
  const h2 = createH2cServer();
  h2.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const service = body.length > 5 ? body.subarray(7).toString() : '';
      if (headers[':path'] !== '/grpc.health.v1.Health/Check' || service === 'unimpl') {
        const trailersOnly = {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '12',
          'grpc-message': 'unknown service',
        };
        stream.respond(trailersOnly, { endStream: true });
        return;
      }
      const status = service === 'down' ? 2 : 1;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, status]));
    });
  });
  const port = await listen(h2);
  assert.deepEqual(await runProbe({ grpc: { port } }, ctx()), { ok: true, message: 'service healthy' });
  assert.deepEqual(await runProbe({ grpc: { port, service: 'down' } }, ctx()), {
    ok: false,
    message: 'service unhealthy (responded with "NOT_SERVING")',
  });
  assert.deepEqual(await runProbe({ grpc: { port, service: 'unimpl' } }, ctx()), {
    ok: false,
    message:
      'timeout: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service',
  });
  const plain = await runProbe({ grpc: { port: httpPort } }, ctx());
  assert.equal(plain.ok, false);
  assert.match(plain.message, /^error: health rpc probe failed: /);
});
