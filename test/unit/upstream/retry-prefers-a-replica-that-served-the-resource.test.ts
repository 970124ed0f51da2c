import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createSecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createBalancer } from '../../../src/upstream/balancers/index.ts';
import { DEFAULT_HEALTH_CHECK } from '../../../src/upstream/health-check.ts';
import { Upstream } from '../../../src/upstream/upstream.ts';
import { testPKI } from '../helpers/pem-files.ts';

// Issue 23 point 11, the choice of the retry: a request a replica answered "not serving this
// resource yet" goes to a replica that has answered the resource with a 2xx, when one has. (The
// e2e test new-crd-served-while-replicas-warm-up shows the whole of it against real apiservers.)
const server = createSecureServer();
let url = '';
let ca = '';
before(async () => {
  const pki = await testPKI();
  const pair = await pki.issue('upstream');
  server.setSecureContext({ cert: await readFile(pair.cert), key: await readFile(pair.key) });
  server.on('stream', (s: ServerHttp2Stream) => {
    s.respond({ ':status': 200 });
    s.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ca = await readFile(pki.ca.cert, 'utf8');
});
after(() => new Promise((r) => server.close(r)));

const widgets = { apiGroup: 'example.com', resource: 'widgets' };

test('the retry of a not-yet-served answer goes to a replica that has served the resource', async () => {
  const up = new Upstream(
    ['a', 'b', 'c'].map((name) => ({ name, url })),
    createBalancer('round-robin'),
    { tls: { ca }, pingIntervalMs: 30_000, health: DEFAULT_HEALTH_CHECK },
  );
  await up.start();
  try {
    const [a, b, c] = up.endpoints;
    assert.equal(up.healthyCount, 3);
    // No replica has served it: any other than the one that answered.
    const others = new Set(Array.from({ length: 6 }, () => up.pick(false, a, undefined, widgets)));
    assert.deepEqual(
      [...others].sort((x, y) => x!.name.localeCompare(y!.name)),
      [b, c],
    );
    c.noteServed('example.com', 'widgets');
    b.noteServed('example.com', 'gadgets');
    b.noteServed('other.example.com', 'widgets');
    for (let i = 0; i < 6; i++)
      assert.equal(up.pick(false, a, undefined, widgets), c, 'the one that served it');
    assert.ok(c.serves('example.com', 'widgets') && !b.serves('example.com', 'widgets'));
    // Only the replica that served it is excluded (it answered "not yet" after all): another one.
    assert.notEqual(up.pick(false, c, undefined, widgets), c);
  } finally {
    up.close();
  }
});
