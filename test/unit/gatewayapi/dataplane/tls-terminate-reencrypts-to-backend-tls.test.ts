// A TLSRoute on a Terminate listener whose backend a BackendTLSPolicy targets: the gateway ends the
// client's TLS and opens its own to the backend, with the policy's hostname as SNI, verifying the
// backend's chain and name; a backend that fails verification gets the connection closed.

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
  return {
    hostname,
    route: `infra/${hostname}`,
    backends: [
      {
        name: 'infra/tls-backend:443',
        weight: 1,
        endpoints: [{ address: '127.0.0.1', port: backendPort }],
        tls,
      },
    ],
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-gwapi-reencrypt-'));
  const caFiles = await createCA(dir, 'ca', 'reencrypt-test-ca');
  const [gw, be] = await Promise.all([
    issueCert(dir, 'gw', caFiles, { cn: 'gw', usage: 'server', dns: ['*.example.com'] }),
    issueCert(dir, 'be', caFiles, { cn: 'abc.example.com', usage: 'server', dns: ['abc.example.com'] }),
  ]);
  ca = (await loadCert(caFiles)).cert;
  backend = createTls(await loadCert(be), (s) => {
    s.write(`backend ${String(s.servername)}\n`);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  const good: UpstreamTLSIR = { hostname: 'abc.example.com', ca, subjectAltNames: [] };
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
              host('good.example.com', backendPort, good),
              host('mismatch.example.com', backendPort, { ...good, hostname: 'mismatch.example.com' }),
              host('no-ca.example.com', backendPort, { ...good, ca: '' }),
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

test('the terminated stream is re-encrypted to the backend with the policy hostname as SNI', async () => {
  assert.equal(await firstLine('good.example.com'), 'backend abc.example.com');
});

test('a backend certificate without the policy hostname, or a policy without a CA, closes the connection', async () => {
  assert.equal(await firstLine('mismatch.example.com'), 'closed');
  assert.equal(await firstLine('no-ca.example.com'), 'closed');
});
