import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer as createHttps, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createCA, issueCert, loadCert } from '../../../../src/dev/pki.ts';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { ClusterIR, UpstreamTLSIR } from '../../../../src/gatewayapi/ir.ts';
import { backend, freePort, match, route, send, silent, simpleIR } from './helpers.ts';

const SPIFFE = 'spiffe://cluster.local/ns/infra/sa/backend';

let dir = '';
let ca = '';
let otherCA = '';
let plane: DataPlane;
let port = 0;
let h1: Server;
let h2: Http2SecureServer;
/** The SNI each backend connection came with. */
const sniSeen: string[] = [];

function listen(server: Server | Http2SecureServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function tlsCluster(
  name: string,
  backendPort: number,
  tls: UpstreamTLSIR,
  protocol: ClusterIR['protocol'] = 'http1',
): ClusterIR {
  return { name, protocol, endpoints: [{ address: '127.0.0.1', port: backendPort }], tls };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-gwapi-backend-tls-'));
  const caFiles = await createCA(dir, 'ca', 'backend-ca');
  const otherFiles = await createCA(dir, 'other', 'other-ca');
  const leaf = await loadCert(
    await issueCert(dir, 'backend', caFiles, {
      cn: 'abc.example.com',
      usage: 'server',
      dns: ['abc.example.com'],
      uris: [SPIFFE],
    }),
  );
  ca = (await loadCert(caFiles)).cert;
  otherCA = (await loadCert(otherFiles)).cert;
  const answer = (socket: TLSSocket, proto: string) => {
    sniSeen.push(String(socket.servername));
    return JSON.stringify({ sni: socket.servername, proto });
  };
  h1 = createHttps(leaf, (req, res) => res.end(answer(req.socket as TLSSocket, 'http/1.1')));
  h2 = createSecureServer({ ...leaf, allowHTTP1: false }, (req, res) =>
    res.end(answer(req.socket as unknown as TLSSocket, `h2 ${req.headers[':scheme']}`)),
  );
  const [h1Port, h2Port] = await Promise.all([listen(h1), listen(h2)]);
  port = await freePort();
  const good: UpstreamTLSIR = { hostname: 'abc.example.com', ca, subjectAltNames: [] };
  const clusters: ClusterIR[] = [
    tlsCluster('good', h1Port, good),
    tlsCluster('wrong-host', h1Port, { ...good, hostname: 'mismatch.example.com' }),
    tlsCluster('wrong-ca', h1Port, { ...good, ca: otherCA }),
    tlsCluster('no-ca', h1Port, { ...good, ca: '' }),
    tlsCluster('system-ca', h1Port, { ...good, ca: null }),
    tlsCluster('san-uri', h1Port, {
      ...good,
      hostname: 'x.example.com',
      subjectAltNames: [{ type: 'URI', value: SPIFFE }],
    }),
    tlsCluster('san-dns', h1Port, {
      ...good,
      subjectAltNames: [
        { type: 'URI', value: 'spiffe://elsewhere/sa/x' },
        { type: 'Hostname', value: 'abc.example.com' },
      ],
    }),
    tlsCluster('san-mismatch', h1Port, {
      ...good,
      subjectAltNames: [
        { type: 'Hostname', value: 'dce.example.com' },
        { type: 'URI', value: 'spiffe://elsewhere/sa/x' },
      ],
    }),
    tlsCluster('h2', h2Port, good, 'h2c'),
    tlsCluster('h2-wrong-host', h2Port, { ...good, hostname: 'mismatch.example.com' }, 'h2c'),
    { name: 'plain-to-tls', protocol: 'http1', endpoints: [{ address: '127.0.0.1', port: h1Port }] },
  ];
  const routes = clusters.map((c) =>
    route(c.name, {
      match: match({ path: { type: 'Exact', value: `/${c.name}` } }),
      backends: [backend(c.name)],
    }),
  );
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply(simpleIR(port, routes, clusters));
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  h1.closeAllConnections();
  await Promise.all([new Promise((r) => h1.close(r)), new Promise((r) => h2.close(r))]);
  await rm(dir, { recursive: true, force: true });
});

test('a backend whose certificate chains to the CA and names the hostname is served, with the hostname as SNI', async () => {
  const r = await send(port, { path: '/good', host: 'gw.example' });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { sni: 'abc.example.com', proto: 'http/1.1' });
});

test('a hostname the certificate does not carry, or another CA, fails the request with a 5xx', async () => {
  for (const path of ['/wrong-host', '/wrong-ca', '/system-ca']) {
    const r = await send(port, { path, host: 'gw.example' });
    assert.ok(r.status >= 500 && r.status <= 503, `${path}: ${r.status}`);
  }
});

test('a policy without a valid CA fails every request without connecting to the backend', async () => {
  const before = sniSeen.length;
  const r = await send(port, { path: '/no-ca', host: 'gw.example' });
  assert.ok(r.status >= 500 && r.status <= 503, String(r.status));
  assert.equal(sniSeen.length, before);
});

test('subjectAltNames replace the hostname check: a URI or DNS name the certificate carries passes, others fail', async () => {
  const uri = await send(port, { path: '/san-uri', host: 'gw.example' });
  assert.equal(uri.status, 200);
  assert.equal(JSON.parse(uri.body).sni, 'x.example.com');
  assert.equal((await send(port, { path: '/san-dns', host: 'gw.example' })).status, 200);
  const mismatch = await send(port, { path: '/san-mismatch', host: 'gw.example' });
  assert.ok(mismatch.status >= 500, String(mismatch.status));
});

test('an HTTP/2 backend under a policy is spoken to over TLS with ALPN h2, and verified the same way', async () => {
  const r = await send(port, { path: '/h2', host: 'gw.example' });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { sni: 'abc.example.com', proto: 'h2 https' });
  const bad = await send(port, { path: '/h2-wrong-host', host: 'gw.example' });
  assert.ok(bad.status >= 500, String(bad.status));
});

test('without a policy a TLS backend is spoken to in plain text (and answers nothing useful)', async () => {
  const r = await send(port, { path: '/plain-to-tls', host: 'gw.example' });
  assert.notEqual(r.status, 200);
});
