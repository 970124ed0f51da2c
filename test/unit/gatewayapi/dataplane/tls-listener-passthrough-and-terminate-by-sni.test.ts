// TLS listeners: the ClientHello's SNI picks the listener and the TLSRoute hostname. Passthrough
// hands the untouched TLS stream to a TLS backend (which sees the client's SNI and its own
// certificate); Terminate, on the same port, ends TLS with the listener's certificate and sends
// plaintext to the backend. A hello nothing routes, one without SNI and bytes that are no hello
// are closed without an answer.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  connect as netConnect,
  createServer as createNet,
  type AddressInfo,
  type Server,
  type Socket as NetSocket,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, createServer as createTls, type TLSSocket } from 'node:tls';
import { createCA, issueCert, loadCert } from '../../../../src/dev/pki.ts';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { StreamBackendIR, StreamPortIR } from '../../../../src/gatewayapi/ir.ts';
import { freePort, silent } from './helpers.ts';

let dir = '';
let ca = '';
let plane: DataPlane;
let port = 0;
const servers: Server[] = [];

/** A backend that greets with its name, then echoes lines; a TLS one also tells the SNI it got. */
async function startLineServer(name: string, tls?: { cert: string; key: string }): Promise<number> {
  const greet = (s: NetSocket | TLSSocket) => {
    const sni = 'servername' in s ? String((s as TLSSocket).servername) : '-';
    s.write(`${name} ${sni}\n`);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  };
  const server = tls ? createTls({ ...tls }, greet) : createNet(greet);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

function backendOf(name: string, p: number): StreamBackendIR {
  return { name, weight: 1, endpoints: [{ address: '127.0.0.1', port: p }] };
}

/** The first line the gateway sends back, or `closed` when it closes without a byte. */
function firstLine(s: NetSocket | TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      const nl = got.indexOf('\n');
      if (nl >= 0) {
        resolve(got.slice(0, nl));
        s.destroy();
      }
    });
    s.on('error', () => resolve('closed'));
    s.on('close', () => resolve('closed'));
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-gwapi-tls-'));
  const caFiles = await createCA(dir, 'ca', 'tls-route-test-ca');
  const [gw, be] = await Promise.all([
    issueCert(dir, 'gw', caFiles, { cn: 'tls.example.com', usage: 'server', dns: ['tls.example.com'] }),
    issueCert(dir, 'be', caFiles, { cn: 'abc.example.com', usage: 'server', dns: ['abc.example.com'] }),
  ]);
  ca = (await loadCert(caFiles)).cert;
  const passthroughBackend = await startLineServer('tls-backend', await loadCert(be));
  const wildcardBackend = await startLineServer('wildcard-backend', await loadCert(be));
  const plainBackend = await startLineServer('plain-backend');
  port = await freePort();
  const tlsPort: StreamPortIR = {
    gateway: 'infra/mixed',
    address: '127.0.0.1',
    port,
    protocol: 'TLS',
    listeners: [
      {
        name: 'tls-terminate',
        hostname: 'tls.example.com',
        tls: { mode: 'Terminate', certificates: [await loadCert(gw)] },
        hosts: [
          {
            hostname: 'tls.example.com',
            route: 'infra/terminated',
            backends: [backendOf('plain', plainBackend)],
          },
        ],
      },
      {
        name: 'tls-passthrough',
        hostname: '*.example.com',
        tls: { mode: 'Passthrough' },
        hosts: [
          {
            hostname: 'abc.example.com',
            route: 'infra/exact',
            backends: [backendOf('tls', passthroughBackend)],
          },
          {
            hostname: '*.example.com',
            route: 'infra/wildcard',
            backends: [backendOf('wild', wildcardBackend)],
          },
        ],
      },
    ],
  };
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply({ ports: [], clusters: {}, streams: [tlsPort] });
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane?.close();
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

function tlsTo(servername: string | undefined, verify = true): TLSSocket {
  return tlsConnect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: verify });
}

test('passthrough: the backend terminates TLS itself and sees the client SNI', async () => {
  assert.equal(await firstLine(tlsTo('abc.example.com')), 'tls-backend abc.example.com');
});

test('passthrough: the most specific route hostname wins, a wildcard takes the rest', async () => {
  assert.equal(await firstLine(tlsTo('other.example.com', false)), 'wildcard-backend other.example.com');
});

test('terminate: the gateway ends TLS with the listener certificate and sends plaintext on', async () => {
  const s = tlsTo('tls.example.com');
  assert.equal(await firstLine(s), 'plain-backend -');
});

test('terminated connections carry data both ways', async () => {
  const s = tlsTo('tls.example.com');
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      lines.splice(0, lines.length, ...got.split('\n').filter((l) => l !== ''));
      if (lines.length === 1) s.write('PING\n');
      if (lines.length === 2) resolve();
    });
    s.on('error', reject);
  });
  s.destroy();
  assert.deepEqual(lines, ['plain-backend -', 'PING']);
});

test('a ClientHello for a hostname no listener or route has is closed', async () => {
  assert.equal(await firstLine(tlsTo('nothing.example.org', false)), 'closed');
});

test('a ClientHello without SNI is closed', async () => {
  assert.equal(await firstLine(tlsTo(undefined, false)), 'closed');
});

test('bytes that are not a ClientHello are closed without an answer', async () => {
  const s = netConnect({ host: '127.0.0.1', port });
  s.write('GET / HTTP/1.1\r\nHost: abc.example.com\r\n\r\n');
  assert.equal(await firstLine(s), 'closed');
});
