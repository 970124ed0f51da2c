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

let dir = '';
let plane: DataPlane;
let port = 0;
let h1: Server;
let h2: Http2SecureServer;
/** Every TLS connection the backends accepted, with the client certificate's CN ('' for none). */
const accepted: string[] = [];

function listen(server: Server | Http2SecureServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function peerCN(socket: TLSSocket): string {
  const cn = socket.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' ? cn : '';
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-gwapi-backend-client-cert-'));
  const serverCA = await createCA(dir, 'server-ca', 'server-ca');
  const clientCA = await createCA(dir, 'client-ca', 'client-ca');
  const otherCA = await createCA(dir, 'other-ca', 'other-ca');
  const leaf = await loadCert(
    await issueCert(dir, 'backend', serverCA, {
      cn: 'abc.example.com',
      usage: 'server',
      dns: ['abc.example.com'],
    }),
  );
  const client = await loadCert(
    await issueCert(dir, 'gateway', clientCA, { cn: 'gateway-client', usage: 'client' }),
  );
  const stranger = await loadCert(
    await issueCert(dir, 'stranger', otherCA, { cn: 'stranger', usage: 'client' }),
  );
  // The backends insist on a client certificate from clientCA, as the conformance echo server does.
  const mtls = { ...leaf, ca: (await loadCert(clientCA)).cert, requestCert: true, rejectUnauthorized: true };
  const answer = (socket: TLSSocket) => {
    accepted.push(peerCN(socket));
    return JSON.stringify({ client: peerCN(socket) });
  };
  h1 = createHttps(mtls, (req, res) => res.end(answer(req.socket as TLSSocket)));
  h2 = createSecureServer({ ...mtls, allowHTTP1: false }, (req, res) =>
    res.end(answer(req.socket as unknown as TLSSocket)),
  );
  const [h1Port, h2Port] = await Promise.all([listen(h1), listen(h2)]);
  port = await freePort();
  const tls: UpstreamTLSIR = {
    hostname: 'abc.example.com',
    ca: (await loadCert(serverCA)).cert,
    subjectAltNames: [],
  };
  const at = (p: number) => [{ address: '127.0.0.1', port: p }];
  const clusters: ClusterIR[] = [
    {
      name: 'with-client',
      protocol: 'http1',
      endpoints: at(h1Port),
      tls: { ...tls, clientCertificate: client },
    },
    {
      name: 'h2-with-client',
      protocol: 'h2c',
      endpoints: at(h2Port),
      tls: { ...tls, clientCertificate: client },
    },
    { name: 'without-client', protocol: 'http1', endpoints: at(h1Port), tls },
    {
      name: 'other-ca-client',
      protocol: 'http1',
      endpoints: at(h1Port),
      tls: { ...tls, clientCertificate: stranger },
    },
    {
      name: 'invalid-client',
      protocol: 'http1',
      endpoints: at(h1Port),
      tls: { ...tls, clientCertificate: null },
    },
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

test('the Gateway client certificate is presented to a backend that requires one, over HTTP/1.1 and HTTP/2', async () => {
  for (const path of ['/with-client', '/h2-with-client']) {
    const r = await send(port, { path, host: 'gw.example' });
    assert.equal(r.status, 200, path);
    assert.deepEqual(JSON.parse(r.body), { client: 'gateway-client' }, path);
  }
});

test('without a client certificate, or with one the backend does not trust, the backend refuses and the request gets a 5xx', async () => {
  for (const path of ['/without-client', '/other-ca-client']) {
    const r = await send(port, { path, host: 'gw.example' });
    assert.ok(r.status >= 500 && r.status <= 503, `${path}: ${r.status}`);
  }
});

test('an invalid client certificate reference fails the request without connecting to the backend', async () => {
  const before = accepted.length;
  const r = await send(port, { path: '/invalid-client', host: 'gw.example' });
  assert.ok(r.status >= 500 && r.status <= 503, String(r.status));
  assert.equal(accepted.length, before);
});
