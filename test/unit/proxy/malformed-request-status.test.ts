import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { answerMalformedRequest } from '../../../src/proxy/malformed-request.ts';

// Node answered what its parser refused with a bare `400 Bad Request`; the gateway answers with a
// Kubernetes Status like everywhere else, and closes the connection (nothing after is read).
let server: Server;
let port = 0;
let requests = 0;

before(async () => {
  server = createServer({ maxHeaderSize: 1024 }, (_req, res) => {
    requests++;
    res.end('ok');
  });
  server.on('clientError', answerMalformedRequest);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

function send(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    let out = '';
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.on('data', (c) => (out += c));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

test('Content-Length beside Transfer-Encoding: 400 with a BadRequest Status, closed, the smuggled request unread', async () => {
  const answer = await send(
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
  );
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(answer, /\r\nConnection: close\r\n/);
  const st = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
  assert.equal(st.kind, 'Status');
  assert.equal(st.reason, 'BadRequest');
  assert.equal(st.code, 400);
  assert.equal(requests, 0);
});

test('an oversized head keeps Node’s bare 431', async () => {
  const answer = await send(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2048)}\r\n\r\n`);
  assert.match(answer, /^HTTP\/1\.1 431 /);
});
