import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type ClientHttp2Session } from 'node:http2';
import { request, type RequestOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as connectTLS } from 'node:tls';
import { createCA, issueCert, loadCert } from '../../../../src/dev/pki.ts';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { DataPlaneIR, ListenerIR } from '../../../../src/gatewayapi/ir.ts';
import { backend, cluster, freePort, match, route, silent, startEcho, vhost, type Echo } from './helpers.ts';

// The listeners of the conformance test HTTPRouteHTTPSListenerDetectMisdirectedRequests: one
// catch-all, one exact, one wildcard and one exact name under that wildcard, all on one port and
// with one certificate for every name, so HTTP/2 clients may coalesce connections across them.
let dir = '';
let ca = '';
let plane: DataPlane;
const echoes: Echo[] = [];
let port = 0;
/** Switches to any protocol and echoes the tunnel's bytes. */
let tunnelBackend: Server;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-gwapi-421-'));
  const caFiles = await createCA(dir, 'ca', 'misdirected-test-ca');
  const pem = await loadCert(
    await issueCert(dir, 'shared', caFiles, {
      cn: 'shared',
      usage: 'server',
      dns: ['example.org', 'second-example.org', 'unknown-example.org', '*.wildcard.org'],
      ips: ['127.0.0.1'],
    }),
  );
  ca = (await loadCert(caFiles)).cert;
  for (const name of ['v1', 'v2', 'v3']) echoes.push(await startEcho(name));
  tunnelBackend = createServer();
  tunnelBackend.on('upgrade', (_req, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((r) => tunnelBackend.listen(0, '127.0.0.1', r));
  port = await freePort();
  const ws = route('ws', {
    match: match({ path: { type: 'PathPrefix', value: '/ws' } }),
    backends: [backend('ws')],
  });
  const l = (name: string, hostname: string | null, host: string, to: string): ListenerIR => ({
    name,
    hostname,
    tls: { certificates: [pem] },
    virtualHosts: [vhost(host, [ws, route(name, { backends: [backend(to)] })])],
  });
  const ir: DataPlaneIR = {
    ports: [
      {
        gateway: 'default/https',
        address: '127.0.0.1',
        port,
        protocol: 'HTTPS',
        listeners: [
          l(
            'https-with-hostname-matching-wildcard',
            'fourth-example.wildcard.org',
            'fourth-example.wildcard.org',
            'v1',
          ),
          l('https-with-hostname', 'second-example.org', 'second-example.org', 'v2'),
          l('https-with-wildcard-hostname', '*.wildcard.org', '*.wildcard.org', 'v3'),
          l('https', null, 'example.org', 'v1'),
        ],
      },
    ],
    clusters: {
      ...Object.fromEntries(echoes.map((e) => [e.name, cluster(e.name, [e.port])])),
      ws: cluster('ws', [(tunnelBackend.address() as AddressInfo).port]),
    },
  };
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply(ir);
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  tunnelBackend.closeAllConnections();
  tunnelBackend.close();
  for (const e of echoes) await e.close();
  await rm(dir, { recursive: true, force: true });
});

/** Status and answering backend of one request on an HTTP/2 session. */
function h2get(session: ClientHttp2Session, authority: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':path': '/detect-misdirected-requests', ':authority': authority });
    let status = 0;
    let body = '';
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('data', (c: Buffer) => (body += c.toString()));
    s.on('end', () => resolve(status === 200 ? `200 ${JSON.parse(body).server}` : String(status)));
    s.on('error', reject);
    s.end();
  });
}

// serverName, host → status and backend, as the conformance test asserts them.
const CASES: Record<string, Record<string, string>> = {
  'example.org': { 'example.org': '200 v1', 'second-example.org': '421', 'unknown-example.org': '404' },
  'second-example.org': {
    'second-example.org': '200 v2',
    'example.org': '421',
    'unknown-example.org': '421',
  },
  'third-example.wildcard.org': {
    'third-example.wildcard.org': '200 v3',
    'fith-example.wildcard.org': '200 v3',
    'fourth-example.wildcard.org': '421',
    'second-example.org': '421',
    'unknown-example.org': '421',
  },
  'fourth-example.wildcard.org': {
    'fourth-example.wildcard.org': '200 v1',
    'fith-example.wildcard.org': '421',
  },
  'unknown-example.org': { 'example.org': '200 v1', 'unknown-example.org': '404' },
};

test('over one HTTP/2 connection, a Host of another listener than the SNI chose gets 421', async () => {
  for (const [serverName, hosts] of Object.entries(CASES)) {
    // One session per server name, reused for every host: what a coalescing client does.
    const session = connect(`https://127.0.0.1:${port}`, { ca, servername: serverName });
    try {
      for (const [host, want] of Object.entries(hosts))
        assert.equal(await h2get(session, host), want, `SNI ${serverName}, Host ${host}`);
    } finally {
      session.close();
    }
  }
});

/** `servername: ''` sends no SNI. */
function h1get(servername: string, host: string): Promise<number> {
  const options: RequestOptions & { ALPNProtocols: string[] } = {
    host: '127.0.0.1',
    port,
    path: '/detect-misdirected-requests',
    ca,
    servername,
    headers: { host },
    agent: false,
    ALPNProtocols: ['http/1.1'],
  };
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTP/1.1 requests are checked the same way', async () => {
  assert.equal(await h1get('second-example.org', 'second-example.org'), 200);
  assert.equal(await h1get('second-example.org', 'example.org'), 421);
  assert.equal(await h1get('example.org', 'x.wildcard.org:443'), 421);
});

test('a connection without SNI (an IP address) is routed by Host alone', async () => {
  assert.equal(await h1get('', 'second-example.org'), 200);
  assert.equal(await h1get('', 'x.wildcard.org'), 200);
});

/** A WebSocket handshake over TLS: the status line, then (after a 101) one echoed message. */
async function wss(servername: string, host: string): Promise<string> {
  const socket = connectTLS({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['http/1.1'] });
  try {
    await once(socket, 'secureConnect');
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    let got = '';
    while (!got.includes('\r\n\r\n')) got += ((await once(socket, 'data')) as [Buffer])[0].toString();
    const status = got.slice(9, 12);
    if (status !== '101') return status;
    socket.write('ping');
    let echoed = got.slice(got.indexOf('\r\n\r\n') + 4);
    while (echoed.length < 4) echoed += ((await once(socket, 'data')) as [Buffer])[0].toString();
    return `${status} ${echoed}`;
  } finally {
    socket.destroy();
  }
}

test('WebSocket handshakes over TLS are checked too, then tunnelled', async () => {
  assert.equal(await wss('example.org', 'example.org'), '101 ping');
  assert.equal(await wss('x.wildcard.org', 'y.wildcard.org'), '101 ping');
  assert.equal(await wss('example.org', 'second-example.org'), '421');
});
