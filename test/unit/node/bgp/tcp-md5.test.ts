import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { connectWithKey, setListenerKey } from '../../../../src/node/bgp/tcp/md5.ts';

const server = createServer((s) => s.end('hello'));
after(() => server.close());

async function read(s: Socket): Promise<string> {
  let out = '';
  s.on('data', (d) => (out += d));
  await once(s, 'end');
  return out;
}

test('a listener with a TCP-MD5 key accepts a signed connection and drops unsigned or wrongly signed SYNs', async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  setListenerKey(server, '127.0.0.1', 'sesame');

  const signed = await connectWithKey({ host: '127.0.0.1', port, key: 'sesame' });
  assert.equal(await read(signed), 'hello');

  const wrong = connectWithKey({ host: '127.0.0.1', port, key: 'other', timeoutMs: 1000 });
  await assert.rejects(wrong);

  const plain = connect({ host: '127.0.0.1', port });
  plain.on('error', () => {});
  const outcome = await Promise.race([
    once(plain, 'connect').then(() => 'connected'),
    new Promise((r) => setTimeout(() => r('no answer'), 1000)),
  ]);
  plain.destroy();
  assert.equal(outcome, 'no answer');

  // Removing the key lets unsigned connections in again.
  setListenerKey(server, '127.0.0.1', '');
  const again = connect({ host: '127.0.0.1', port });
  assert.equal(await read(again), 'hello');
});
