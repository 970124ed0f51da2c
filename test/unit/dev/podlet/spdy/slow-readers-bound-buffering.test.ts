import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, connect, type Server } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpdySession, type SpdyStream } from '../../../../../src/dev/podlet/spdy/index.ts';

const servers: Server[] = [];
const sessions: SpdySession[] = [];

after(() => {
  for (const s of sessions) s.destroy();
  for (const s of servers) s.close();
});

/** A server whose streams nobody reads, and a client with or without flow control. */
async function pair(
  clientFlowControl: boolean,
): Promise<{ client: SpdySession; accepted: Promise<SpdyStream> }> {
  let accept!: (s: SpdyStream) => void;
  const accepted = new Promise<SpdyStream>((r) => (accept = r));
  const server = createServer((socket) => {
    sessions.push(new SpdySession({ socket, side: 'server', onStream: (s) => void accept(s) }));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  const client = new SpdySession({ socket, side: 'client', flowControl: clientFlowControl });
  sessions.push(client);
  return { client, accepted };
}

async function writeWhileUnread(
  clientFlowControl: boolean,
): Promise<{ buffered: number; written: number; stream: SpdyStream }> {
  const { client, accepted } = await pair(clientFlowControl);
  const out = await client.openStream({ kind: 'sink' });
  const stream = await accepted;
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024, 1);
  const total = 32 * 1024 * 1024;
  void (async () => {
    while (written < total && !out.destroyed) {
      const ok = out.write(chunk);
      written += chunk.length;
      if (!ok) await once(out, 'drain');
    }
  })();
  await sleep(500);
  return { buffered: stream.readableLength, written, stream };
}

test('a SPDY/3.1 peer stops at the 64 KiB window while the reader does not read', async () => {
  const { buffered, written, stream } = await writeWhileUnread(true);
  assert.ok(buffered <= 64 * 1024, `buffered ${buffered}`);
  assert.ok(written < 1024 * 1024, `written ${written}`);
  let got = 0;
  stream.on('data', (c: Buffer) => (got += c.length));
  await sleep(300);
  assert.ok(got > 1024 * 1024, `after reading resumed: ${got}`); // credit flows again
});

test('a peer without flow control (spdystream) is held back by not reading the socket', async () => {
  const { buffered, written } = await writeWhileUnread(false);
  assert.ok(buffered <= 128 * 1024, `buffered ${buffered}`);
  // The rest of what was written sits in the kernel's socket buffers, not in the session.
  assert.ok(written < 16 * 1024 * 1024, `written ${written}`);
});
