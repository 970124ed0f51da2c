import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { connect, createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import type { GatewayConfig } from '../../../src/config/model.ts';
import { ThreadedGateway } from '../../../src/workers/index.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// kubegate on two worker threads in front of a fake apiserver: the listener at port 0 is shared by
// both threads, one rule's bucket is shared by both, and survives a reload that leaves it alone.
const PATH = '/api/v1/namespaces/default/configmaps';
const CONNECTIONS = 12;

let dir = '';
let upstream: Http2SecureServer;
let gateway: ThreadedGateway | null = null;
let client: { ca: string; cert: string; key: string };
let upstreamURL = '';
const exits: number[] = [];

function config(burst: number, extraRules: Record<string, unknown>[] = []): Promise<GatewayConfig> {
  const rule = {
    name: 'capped',
    match: { verbs: ['list'], apiGroups: [''], resources: ['configmaps'] },
    limits: { qps: 0.01, burst },
  };
  return resolveGatewayConfiguration(
    fakeClusterConfiguration(
      upstreamURL,
      { rules: [...extraRules, rule] },
      { workers: 2, accessLog: { path: 'access.log' }, admin: { port: 0 } },
    ),
    dir,
  );
}

before(async () => {
  const pki = await fakeClusterPKI('workers');
  dir = pki.dir;
  client = pki.client;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream) => {
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end('{"kind":"ConfigMapList","items":[]}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamURL = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await ThreadedGateway.start(await config(10), pino({ level: 'silent' }), (i) => exits.push(i));
  await gateway.startAdmin(pino({ level: 'silent' }));
});

after(async () => {
  await gateway?.stop(0, 0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `n` lists on each of CONNECTIONS new connections at once; the statuses. */
async function burst(n: number): Promise<number[]> {
  const url = `https://127.0.0.1:${gateway!.ports.main}`;
  const sessions = Array.from({ length: CONNECTIONS }, () => connect(url, client));
  try {
    const one = (s: (typeof sessions)[number]) =>
      new Promise<number>((resolve, reject) => {
        const r = s.request({ ':path': PATH });
        r.on('response', (h) => resolve(Number(h[':status'])));
        r.on('error', reject);
        r.resume();
        r.end();
      });
    return await Promise.all(sessions.flatMap((s) => Array.from({ length: n }, () => one(s))));
  } finally {
    for (const s of sessions) s.close();
  }
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

test('both workers serve one port-0 listener and draw from one bucket, which a reload keeps', async (t) => {
  assert.ok(gateway!.ports.main > 0, 'worker 0 picked a port for the listener at port 0');
  const first = await burst(2);
  assert.equal(count(first, 200), 10, `one bucket of 10 for ${first.length} requests`);
  assert.equal(count(first, 429), first.length - 10);

  // A reload that adds a rule ahead and leaves `capped` alone keeps its (empty) bucket.
  await gateway!.reload(
    await config(10, [{ name: 'probes', match: { nonResourceURLs: ['/readyz'] }, exempt: true }]),
  );
  assert.equal(count(await burst(1), 200), 0, 'the bucket survived the reload');
  // New limits are a new bucket, shared again.
  await gateway!.reload(await config(5));
  assert.equal(count(await burst(2), 200), 5, 'the new bucket holds 5');

  let lines: { worker?: number; kind?: string }[] = [];
  for (let i = 0; i < 50; i++) {
    const text = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
    lines = text
      .split('\n')
      .slice(0, -1) // a last line without its newline is still being written
      .map((l) => JSON.parse(l) as { worker?: number; kind?: string })
      .filter((l) => l.kind === 'access');
    if (lines.length >= 2 * first.length + CONNECTIONS) break;
    await sleep(100);
  }
  const workers = new Set(lines.map((l) => l.worker));
  t.diagnostic(
    `access lines: worker 0 × ${lines.filter((l) => l.worker === 0).length}, worker 1 × ${lines.filter((l) => l.worker === 1).length}`,
  );
  assert.deepEqual([...workers].sort(), [0, 1], 'both workers served');
  const metrics = await (await fetch(`${gateway!.admin!.url}/metrics`)).text();
  const total = metrics
    .split('\n')
    .filter((l) => l.startsWith('kubegate_requests_total{'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  assert.equal(total, lines.length, '/metrics sums both workers');
  assert.equal((await fetch(`${gateway!.admin!.url}/readyz`)).status, 200);
  assert.deepEqual(exits, [], 'no worker died');
});
