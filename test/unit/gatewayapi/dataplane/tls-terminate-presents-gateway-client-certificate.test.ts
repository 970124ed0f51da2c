// A TLSRoute on a Terminate listener re-encrypted to a backend that requires a client certificate:
// the connection presents the Gateway's (spec.tls.backend.clientCertificateRef); without one, or
// with an invalid reference, the backend is not reached and the client's connection is closed.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, createServer as createTls, type TLSSocket } from 'node:tls';
import { createCA, issueCert, loadCert } from '../../../../src/dev/pki.ts';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { StreamHostIR, UpstreamTLSIR } from '../../../../src/gatewayapi/ir.ts';
import { freePort, silent } from './helpers.ts';

let dir = '';
let ca = '';
let plane: DataPlane;
let port = 0;
let backend: Server;

function host(hostname: string, backendPort: number, tls: UpstreamTLSIR): StreamHostIR {
  const endpoints = [{ address: '127.0.0.1', port: backendPort }];
  return {
    hostname,
    route: `infra/${hostname}`,
    backends: [{ name: 'infra/mtls:443', weight: 1, endpoints, tls }],
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-gwapi-stream-client-cert-'));
  const caFiles = await createCA(dir, 'ca', 'stream-client-cert-ca');
  const [gw, be, client] = await Promise.all([
    issueCert(dir, 'gw', caFiles, { cn: 'gw', usage: 'server', dns: ['*.example.com'] }),
    issueCert(dir, 'be', caFiles, { cn: 'abc.example.com', usage: 'server', dns: ['abc.example.com'] }),
    issueCert(dir, 'client', caFiles, { cn: 'gateway-client', usage: 'client' }),
  ]);
  ca = (await loadCert(caFiles)).cert;
  backend = createTls({ ...(await loadCert(be)), ca, requestCert: true, rejectUnauthorized: true }, (s) => {
    s.write(`backend saw ${String(s.getPeerCertificate().subject?.CN)}\n`);
    s.on('error', () => {});
  });
  backend.on('tlsClientError', () => {});
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  const tls: UpstreamTLSIR = { hostname: 'abc.example.com', ca, subjectAltNames: [] };
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply({
    ports: [],
    clusters: {},
    streams: [
      {
        gateway: 'infra/gw',
        address: '127.0.0.1',
        port,
        protocol: 'TLS',
        listeners: [
          {
            name: 'terminate',
            hostname: '*.example.com',
            tls: { mode: 'Terminate', certificates: [await loadCert(gw)] },
            hosts: [
              host('with.example.com', backendPort, { ...tls, clientCertificate: await loadCert(client) }),
              host('without.example.com', backendPort, tls),
              host('invalid.example.com', backendPort, { ...tls, clientCertificate: null }),
            ],
          },
        ],
      },
    ],
  });
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await new Promise((r) => backend.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** The first line through the gateway for a client SNI, or `closed`. */
function firstLine(servername: string): Promise<string> {
  return new Promise((resolve) => {
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername, ca });
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\n')) {
        resolve(got.slice(0, got.indexOf('\n')));
        s.destroy();
      }
    });
    s.on('error', () => resolve('closed'));
    s.on('close', () => resolve('closed'));
  });
}

test('the re-encrypted connection presents the Gateway client certificate', async () => {
  assert.equal(await firstLine('with.example.com'), 'backend saw gateway-client');
});

test('without a client certificate, or with an invalid reference, the connection is closed', async () => {
  assert.equal(await firstLine('without.example.com'), 'closed');
  assert.equal(await firstLine('invalid.example.com'), 'closed');
});
