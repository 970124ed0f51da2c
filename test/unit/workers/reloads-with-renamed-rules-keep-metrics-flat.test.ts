import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import type { GatewayConfig } from '../../../src/config/model.ts';
import { ThreadedGateway } from '../../../src/workers/index.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';
import { h2Get } from '../helpers/h2-get.ts';

// kubegate on two worker threads, reloaded 1,000 times, each time with its cluster, endpoint and
// rules renamed and one request through each rule: /metrics (the workers' registries merged, as
// served) shows the names of the configuration serving now only, and its size stays flat.
const RELOADS = 1000;
const EARLY = 10;

let dir = '';
let upstream: Http2SecureServer;
let gateway: ThreadedGateway | null = null;
let client: { ca: string; cert: string; key: string };
let upstreamURL = '';
const exits: number[] = [];

/** Generation `i`'s names, all of one width so that renaming alone cannot change the size. */
const names = (i: number) => {
  const n = String(i).padStart(4, '0');
  return { cluster: `c-${n}`, endpoint: `e-${n}`, list: `list-${n}`, deny: `deny-${n}` };
};

function config(i: number): Promise<GatewayConfig> {
  const n = names(i);
  const doc = fakeClusterConfiguration(
    upstreamURL,
    {
      name: n.cluster,
      endpoints: [{ name: n.endpoint, url: upstreamURL }],
      rules: [
        { name: n.deny, match: { resources: ['secrets'] }, action: 'deny' },
        { name: n.list, match: { verbs: ['list'], resources: ['configmaps'] } },
      ],
    },
    { workers: 2, admin: { port: 0 }, accessLog: { path: 'access.log' } },
  );
  (doc.listeners as { cluster: string }[])[0].cluster = n.cluster;
  return resolveGatewayConfiguration(doc, dir);
}

before(async () => {
  const pki = await fakeClusterPKI('metrics-reloads');
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
  gateway = await ThreadedGateway.start(await config(0), pino({ level: 'silent' }), (i) => exits.push(i));
  await gateway.startAdmin(pino({ level: 'silent' }));
});

after(async () => {
  await gateway?.stop(0, 0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The samples of /metrics that carry a cluster, rule or endpoint (not process metrics). */
async function configSeries(): Promise<string[]> {
  const text = await (await fetch(`${gateway!.admin!.url}/metrics`)).text();
  return text.split('\n').filter((l) => /^kubegate_\w+\{.*(cluster|rule|endpoint)="/.test(l));
}

/** One request through each rule of the generation serving now. */
async function traffic(): Promise<void> {
  const url = `https://127.0.0.1:${gateway!.ports.main}`;
  assert.equal(await h2Get(url, client, '/api/v1/namespaces/default/configmaps'), 200);
  assert.equal(await h2Get(url, client, '/api/v1/namespaces/default/secrets'), 403);
}

test('1,000 reloads renaming the cluster, endpoint and rules leave /metrics as large as after the first few', async (t) => {
  await traffic();
  let early: string[] = [];
  for (let i = 1; i <= RELOADS; i++) {
    await gateway!.reload(await config(i));
    await traffic();
    if (i === EARLY) early = await configSeries();
  }
  const late = await configSeries();
  const bytes = (lines: string[]) => lines.reduce((n, l) => n + l.length + 1, 0);
  t.diagnostic(`after ${EARLY} reloads: ${early.length} series, ${bytes(early)} bytes`);
  t.diagnostic(`after ${RELOADS} reloads: ${late.length} series, ${bytes(late)} bytes`);

  const now = names(RELOADS);
  const stale = late.filter((l) => !Object.values(now).some((n) => l.includes(`"${n}"`)));
  assert.deepEqual(stale.slice(0, 5), [], 'every series names the generation serving now');
  assert.ok(
    late.some((l) => l.startsWith('kubegate_requests_total{') && l.includes(`rule="${now.list}"`)),
    'the last generation is counted under its own names, not `other`',
  );
  assert.equal(late.length, early.length, 'as many series after 1,000 reloads as after 10');
  // Only the values may differ (the sums of durations); the names are of one width.
  assert.ok(bytes(late) <= bytes(early) * 1.05, `${bytes(late)} bytes vs ${bytes(early)}`);
  assert.deepEqual(exits, [], 'no worker died');
});
