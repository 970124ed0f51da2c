import assert from 'node:assert/strict';
import { connect, constants, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchPrematureResets } from '../../../src/proxy/premature-resets.ts';

// A server that answers /answered at once and never answers anything else, with a premature-reset
// bucket of 5 that does not refill.
let server: Http2Server;
let url = '';
let exceeded = 0;
let arrived = 0;

before(async () => {
  server = createServer();
  server.on('session', (s) => watchPrematureResets(s, { burst: 5, ratePerSecond: 0 }, () => exceeded++));
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    arrived++;
    stream.on('error', () => {});
    if (headers[':path'] === '/answered') stream.respond({ ':status': 200 });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

/** Opens `n` streams on `path`, waits until the server has them all, then resets them. */
async function resetAfterArrival(s: ReturnType<typeof connect>, path: string, n: number): Promise<void> {
  const want = arrived + n;
  const streams = Array.from({ length: n }, () => {
    const st = s.request({ ':path': path });
    st.on('error', () => {});
    return st;
  });
  for (let i = 0; i < 400 && arrived < want; i++) await sleep(5);
  assert.equal(arrived, want, 'the server saw every stream');
  for (const st of streams) st.close(constants.NGHTTP2_CANCEL);
  await sleep(100);
}

test('streams reset after their answer began do not count', async () => {
  const s = connect(url);
  s.on('error', () => {});
  await resetAfterArrival(s, '/answered', 20);
  assert.equal(s.closed || s.destroyed, false, 'still open after 20 resets of answered streams');
  s.close();
});

test('past the burst of resets before any answer, the session ends with ENHANCE_YOUR_CALM', async () => {
  const before = exceeded;
  const s = connect(url);
  s.on('error', () => {});
  const goaway = new Promise<number>((resolve) => s.once('goaway', (code: number) => resolve(code)));
  await resetAfterArrival(s, '/never', 5);
  assert.equal(exceeded, before, 'five premature resets are within the burst');
  assert.equal(s.destroyed, false);
  await resetAfterArrival(s, '/never', 1);
  assert.equal(await goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  assert.equal(exceeded, before + 1);
  s.destroy();
});
