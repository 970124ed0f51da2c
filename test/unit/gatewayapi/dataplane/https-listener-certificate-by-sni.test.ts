import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { createCA, issueCert, loadCert } from '../../../../src/dev/pki.ts';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { DataPlaneIR, ListenerIR } from '../../../../src/gatewayapi/ir.ts';
import { backend, cluster, freePort, route, silent, startEcho, vhost, type Echo } from './helpers.ts';

let dir = '';
let ca = '';
let plane: DataPlane;
let echo: Echo;
let port = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-gwapi-sni-'));
  const caFiles = await createCA(dir, 'ca', 'sni-test-ca');
  const [a, b, c] = await Promise.all([
    issueCert(dir, 'a', caFiles, {
      cn: 'a.gw.example',
      usage: 'server',
      dns: ['a.gw.example'],
      ips: ['127.0.0.1'],
    }),
    issueCert(dir, 'b', caFiles, { cn: 'b.example', usage: 'server', dns: ['*.b.gw.example'] }),
    issueCert(dir, 'c', caFiles, { cn: 'c.example', usage: 'server', dns: ['*.gw.example'] }),
  ]);
  ca = (await loadCert(caFiles)).cert;
  echo = await startEcho('echo');
  port = await freePort();
  const tlsListener = (name: string, hostname: string, pem: { cert: string; key: string }): ListenerIR => ({
    name,
    hostname,
    tls: { certificates: [{ cert: 'not a certificate', key: 'not a key' }, pem] },
    virtualHosts: [vhost(hostname, [route(name, { backends: [backend('echo')] })])],
  });
  const ir: DataPlaneIR = {
    ports: [
      {
        gateway: 'default/tls',
        address: '127.0.0.1',
        port,
        protocol: 'HTTPS',
        // Most specific first, as the translator orders them.
        listeners: [
          tlsListener('a', 'a.gw.example', await loadCert(a)),
          tlsListener('b', '*.b.gw.example', await loadCert(b)),
          tlsListener('c', '*.gw.example', await loadCert(c)),
        ],
      },
    ],
    clusters: { echo: cluster('echo', [echo.port]) },
  };
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply(ir);
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await echo.close();
  await rm(dir, { recursive: true, force: true });
});

/** `servername: ''` sends no SNI. */
function get(
  servername: string,
  host: string,
): Promise<{ status: number; cert: PeerCertificate; alpn: string; body: string }> {
  // An HTTP/1.1-only client (RequestOptions does not declare ALPNProtocols, tls.connect takes it).
  const options: RequestOptions & { ALPNProtocols: string[] } = {
    host: '127.0.0.1',
    port,
    path: '/',
    ca,
    servername,
    headers: { host },
    agent: false,
    ALPNProtocols: ['http/1.1'],
  };
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const socket = res.socket as TLSSocket;
      const cert = socket.getPeerCertificate();
      const alpn = String(socket.alpnProtocol);
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cert, alpn, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the certificate is chosen by SNI among the listeners, most specific hostname first', async () => {
  const a = await get('a.gw.example', 'a.gw.example');
  assert.equal(a.cert.subject.CN, 'a.gw.example');
  assert.equal(a.status, 200);
  const b = await get('x.b.gw.example', 'x.b.gw.example');
  assert.equal(b.cert.subject.CN, 'b.example'); // *.b.gw.example, not *.gw.example
  assert.equal(b.status, 200);
  assert.equal((await get('z.gw.example', 'z.gw.example')).cert.subject.CN, 'c.example');
  assert.equal(JSON.parse(b.body).headers['x-forwarded-proto'], 'https');
});

test('ALPN picks HTTP/1.1 for a client that offers only it, and h2 for one that offers h2', async () => {
  assert.equal((await get('a.gw.example', 'a.gw.example')).alpn, 'http/1.1');
  const session = connect(`https://127.0.0.1:${port}`, { ca, servername: 'x.b.gw.example' });
  try {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = session.request({ ':path': '/', ':authority': 'x.b.gw.example' });
      let status = 0;
      let body = '';
      s.on('response', (h) => (status = Number(h[':status'])));
      s.on('data', (c: Buffer) => (body += c.toString()));
      s.on('end', () => resolve({ status, body }));
      s.on('error', reject);
      s.end();
    });
    assert.equal((session.socket as TLSSocket).alpnProtocol, 'h2');
    assert.equal(status, 200);
    assert.equal(JSON.parse(body).host, 'x.b.gw.example');
  } finally {
    session.close();
  }
});

test('a client without SNI gets the default certificate; the Host header then picks the listener', async () => {
  const r = await get('', 'a.gw.example');
  assert.equal(r.cert.subject.CN, 'a.gw.example');
  assert.equal(r.status, 200);
  // Another listener's host on a connection SNI made for this one: misdirected (421).
  const other = await get('a.gw.example', 'y.b.gw.example');
  assert.equal(other.status, 421);
  const unknown = await get('a.gw.example', 'unknown.other');
  assert.equal(unknown.status, 404);
});
