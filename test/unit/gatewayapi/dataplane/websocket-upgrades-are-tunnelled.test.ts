import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import { isWebSocketUpgrade } from '../../../../src/gatewayapi/dataplane/upgrade.ts';
import type { FilterIR } from '../../../../src/gatewayapi/ir.ts';
import {
  backend,
  cluster,
  freePort,
  match,
  route,
  silent,
  simpleIR,
  startEcho,
  type Echo,
} from './helpers.ts';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A WebSocket backend that echoes the tunnel's bytes as they come (no framing needed for that). */
interface WsBackend {
  readonly port: number;
  readonly handshakes: IncomingMessage[];
  /** Sockets of open tunnels. */
  readonly sockets: Set<Socket>;
  readonly server: Server;
}

async function startWsBackend(): Promise<WsBackend> {
  const handshakes: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('upgrade required\n');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    handshakes.push(req);
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nnope\n');
      return;
    }
    if (req.url === '/silent') return; // never answers
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}${WS_GUID}`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Backend: ws\r\n\r\n`,
    );
    if (req.url === '/hello-and-close') {
      socket.end('hello, then goodbye');
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, handshakes, sockets, server };
}

let plane: DataPlane;
let ws: WsBackend;
let echo: Echo;
let port = 0;

const filters: FilterIR[] = [
  {
    type: 'RequestHeaderModifier',
    headers: { set: [{ name: 'X-Via', value: 'gateway' }], add: [], remove: [] },
  },
  {
    type: 'ResponseHeaderModifier',
    headers: { set: [{ name: 'X-Route', value: 'ws' }], add: [], remove: [] },
  },
];

before(async () => {
  ws = await startWsBackend();
  echo = await startEcho('echo');
  port = await freePort();
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply(
    simpleIR(
      port,
      [
        route('slow', {
          match: match({ path: { type: 'PathPrefix', value: '/silent' } }),
          backends: [backend('ws')],
          timeouts: { requestMs: 300, backendRequestMs: 0 },
        }),
        route('plain', {
          match: match({ path: { type: 'PathPrefix', value: '/plain' } }),
          backends: [backend('echo')],
        }),
        route('none', {
          match: match({ path: { type: 'PathPrefix', value: '/none' } }),
          directResponse: { status: 404, body: 'not here' },
        }),
        route('ws', { backends: [backend('ws')], filters }),
      ],
      [cluster('ws', [ws.port]), cluster('echo', [echo.port])],
    ),
  );
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  for (const s of ws.sockets) s.destroy();
  ws.server.closeAllConnections();
  ws.server.close();
  await echo.close();
});

/** Opens a connection, sends an upgrade handshake, and reads until the end of the response head. */
async function handshake(
  path: string,
  upgrade = 'websocket',
): Promise<{ socket: Socket; status: number; head: string; rest: Buffer }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
  );
  let buf = Buffer.alloc(0);
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end >= 0) {
      const head = buf.subarray(0, end).toString();
      const rest = buf.subarray(end + 4);
      socket.pause();
      return { socket, status: Number(head.split(' ')[1]), head, rest };
    }
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
  }
}

/** Everything the socket still sends until it closes. */
async function readToEnd(socket: Socket, already: Buffer): Promise<string> {
  const chunks: Buffer[] = [already];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.resume();
  await once(socket, 'close');
  return Buffer.concat(chunks).toString();
}

test('a WebSocket handshake gets the backend 101, then bytes flow both ways', async () => {
  const { socket, status, head } = await handshake('/chat');
  try {
    assert.equal(status, 101);
    assert.match(head, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    assert.match(head, /^upgrade: websocket$/im);
    assert.match(head, /^connection: upgrade$/im);
    assert.match(head, /^x-route: ws$/im, 'the response filter applies to the 101');
    assert.doesNotMatch(head, /content-length|transfer-encoding/i, 'a 101 has no body framing');
    const h = ws.handshakes.at(-1)!;
    assert.equal(h.headers['x-via'], 'gateway', 'the request filter applies to the handshake');
    assert.equal(h.headers.upgrade, 'websocket');
    assert.equal(h.headers['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
    assert.equal(h.headers.host, 'ws.example');
    socket.resume();
    for (const msg of ['one', 'two', 'x'.repeat(100_000)]) {
      socket.write(msg);
      let got = '';
      while (got.length < msg.length) got += ((await once(socket, 'data')) as [Buffer])[0].toString();
      assert.equal(got, msg);
    }
  } finally {
    socket.destroy();
  }
});

test('the client closing the tunnel closes the backend side', async () => {
  const { socket, status } = await handshake('/chat');
  assert.equal(status, 101);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ws.sockets.size, 1);
  const [backendSocket] = ws.sockets;
  socket.end();
  await once(backendSocket, 'close');
  assert.equal(ws.sockets.size, 0);
});

test('the backend closing the tunnel ends the client side after its last bytes', async () => {
  const { socket, status, rest } = await handshake('/hello-and-close');
  assert.equal(status, 101);
  assert.equal(await readToEnd(socket, rest), 'hello, then goodbye');
});

test('a backend that does not switch has its answer relayed, and the connection closes', async () => {
  const { socket, status, head, rest } = await handshake('/refuse');
  assert.equal(status, 403);
  assert.match(head, /^connection: close$/im);
  assert.match(head, /^x-route: ws$/im);
  assert.equal(await readToEnd(socket, rest), 'nope\n');
});

test('an upgrade the routes answer themselves gets that answer and the connection closes', async () => {
  const { socket, status, rest } = await handshake('/none');
  assert.equal(status, 404);
  assert.equal(await readToEnd(socket, rest), 'not here\n');
});

test("the route's timeout bounds the handshake (504)", async () => {
  const { socket, status } = await handshake('/silent');
  assert.equal(status, 504);
  socket.destroy();
});

test('an h2c upgrade is served as the plain HTTP/1.1 request it also is', async () => {
  const { socket, status, rest } = await handshake('/plain', 'h2c');
  assert.equal(status, 200);
  socket.resume();
  const chunks: Buffer[] = [rest];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  const body = Buffer.concat(chunks).toString();
  const seen = echo.seen.at(-1)!;
  assert.equal(seen.path, '/plain');
  assert.equal(seen.headers.upgrade, undefined, 'the hop-by-hop Upgrade is not forwarded');
  assert.match(body, /"path":"\/plain"/);
});

test('only the websocket token (any case, in a list) makes a tunnel', () => {
  const ask = (upgrade: string) => isWebSocketUpgrade({ headers: { upgrade } } as IncomingMessage);
  assert.equal(ask('websocket'), true);
  assert.equal(ask('WebSocket'), true);
  assert.equal(ask('foo/2, websocket'), true);
  assert.equal(ask('h2c'), false);
  assert.equal(ask('websockets'), false);
});
