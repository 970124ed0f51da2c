import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createSecureServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createBalancer } from '../../../src/upstream/balancers/index.ts';
import { DEFAULT_HEALTH_CHECK } from '../../../src/upstream/health-check.ts';
import { Upstream, type UpstreamOptions } from '../../../src/upstream/upstream.ts';
import { testPKI } from '../helpers/pem-files.ts';

// A fake apiserver answering every stream 200 (so health probes pass), recording the headers.
const seen: IncomingHttpHeaders[] = [];
const server = createSecureServer();
let url = '';
let ca = '';
before(async () => {
  const pki = await testPKI();
  const pair = await pki.issue('upstream');
  server.setSecureContext({ cert: await readFile(pair.cert), key: await readFile(pair.key) });
  server.on('stream', (s: ServerHttp2Stream, headers) => {
    seen.push(headers);
    s.respond({ ':status': 200 });
    s.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ca = await readFile(pki.ca.cert, 'utf8');
});
after(() => new Promise((r) => server.close(r)));

const specs = () => [
  { name: 'a', url },
  { name: 'b', url },
];
// `servername` stands for a rotated client certificate: any change of the session material.
const opts = (material: string, token?: string): UpstreamOptions => ({
  tls: { ca, servername: material === 'OLD' ? undefined : 'localhost', token },
  pingIntervalMs: 30_000,
  health: DEFAULT_HEALTH_CHECK,
});

test('a request that read a retired generation picks from the one that replaced it (rotated credential)', async () => {
  const balancer = createBalancer('round-robin');
  const old = new Upstream(specs(), balancer, opts('OLD'));
  await old.start();
  const next = new Upstream(specs(), balancer, opts('NEW'), old);
  await next.start();
  try {
    assert.equal(next.healthyCount, 2);
    assert.notEqual(
      next.endpoints[0],
      old.endpoints[0],
      'a new client certificate: new endpoints (sessions)',
    );
    old.retire(next);
    for (let i = 0; i < 4; i++)
      assert.ok(next.endpoints.includes(old.pick(false)!), 'picked from the successor');
    const onlyB = old.subset(['b']);
    assert.equal(old.pick(false, undefined, onlyB), next.endpoints[1], 'the same subset, by names');
    next.close();
    assert.equal(old.pick(false), null, 'a removed cluster has nothing to pick');
  } finally {
    old.close();
    next.close();
  }
});

test('a rotated token keeps the endpoints (and their sessions); only the client certificate, key or CA makes new ones', () => {
  const balancer = createBalancer('round-robin');
  const one = new Upstream(specs(), balancer, opts('OLD', 'token-1'));
  const two = new Upstream(specs(), balancer, opts('OLD', 'token-2'), one);
  try {
    assert.deepEqual(two.endpoints, one.endpoints);
    one.retire(two);
  } finally {
    two.close();
  }
});

test('health probes carry the gateway token (kube-apiserver ends an HTTP/2 session on an anonymous request)', async () => {
  const balancer = createBalancer('round-robin');
  const tls = (token: string) => ({ ca, token });
  const health = { ...DEFAULT_HEALTH_CHECK, intervalMs: 50 };
  const one = new Upstream([{ name: 'a', url }], balancer, {
    tls: tls('token-1'),
    pingIntervalMs: 30_000,
    health,
  });
  let two: Upstream | null = null;
  try {
    await one.start();
    assert.equal(seen.at(-1)?.[':path'], '/readyz');
    assert.equal(seen.at(-1)?.authorization, 'Bearer token-1');
    // The next generation keeps the endpoint and its running check, which now sends the new token.
    two = new Upstream(
      [{ name: 'a', url }],
      balancer,
      { tls: tls('token-2'), pingIntervalMs: 30_000, health },
      one,
    );
    one.retire(two);
    assert.equal(two.endpoints[0], one.endpoints[0]);
    const deadline = Date.now() + 5000;
    while (seen.at(-1)?.authorization !== 'Bearer token-2') {
      assert.ok(Date.now() < deadline, 'a probe with the new token within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    (two ?? one).close();
    await new Promise((r) => server.close(r));
  }
});
