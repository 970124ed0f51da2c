import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { SpdySession, type SpdyStream } from '../../../../../src/dev/podlet/spdy/index.ts';

let server: Server;
const serverSessions: SpdySession[] = [];
let client: SpdySession;
const accepted: SpdyStream[] = [];

before(async () => {
  server = createServer((socket: Socket) => {
    const session = new SpdySession({
      socket,
      side: 'server',
      onStream: (stream) => {
        if (stream.headers.kind === 'refuse') return false;
        accepted.push(stream);
        if (stream.headers.kind === 'echo') stream.pipe(stream);
      },
    });
    serverSessions.push(session);
  });
  server.listen(0);
  await once(server, 'listening');
  const socket = connect((server.address() as AddressInfo).port);
  await once(socket, 'connect');
  client = new SpdySession({ socket, side: 'client' });
});

after(async () => {
  await client.close();
  await Promise.all(serverSessions.map((s) => s.closed));
  server.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(stream: SpdyStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('a stream echoes 4 MiB byte for byte, past the 64 KiB flow-control window', async () => {
  const stream = await client.openStream({ kind: 'echo' });
  assert.equal(accepted.at(-1)!.headers.kind, 'echo');
  const data = randomBytes(4 * 1024 * 1024);
  const reading = readAll(stream);
  stream.end(data);
  const echoed = await reading;
  assert.equal(echoed.length, data.length);
  assert.equal(sha(echoed), sha(data));
});

test('many streams share one header compression context each way', async () => {
  const streams = await Promise.all(
    Array.from({ length: 20 }, (_, i) => client.openStream({ kind: 'echo', n: String(i) })),
  );
  const results = await Promise.all(
    streams.map(async (s, i) => {
      const r = readAll(s);
      s.end(`hello ${i}`);
      return (await r).toString();
    }),
  );
  assert.deepEqual(
    results,
    streams.map((_, i) => `hello ${i}`),
  );
});

test('a refused stream is answered with SYN_REPLY+FIN: reading ends at once', async () => {
  const stream = await client.openStream({ kind: 'refuse' });
  assert.equal((await readAll(stream)).length, 0);
});

test('PING is echoed', async () => {
  const rtt = await client.ping();
  assert.ok(rtt >= 0);
});
