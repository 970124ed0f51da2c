import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { shareStats } from '../../../src/share/stats.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// A fake kube-apiserver whose LIST bodies and watch frames the test writes, behind a gateway whose
// rule caches configmap lists (share: watches+lists): the cache is one LIST then one WATCH from its
// resourceVersion, applies events, resumes a lost watch from its last resourceVersion, relists on
// 410, and lists it cannot reproduce are forwarded.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let session: ClientHttp2Session;
const watches: { path: string; agent: string; stream: ServerHttp2Stream }[] = [];
const lists: { path: string; agent: string }[] = [];
/** What the next upstream LIST of the cached collection answers. */
let listBody = '';
let listStatus = 200;

const item = (name: string, rv: number, labels = '{"app":"a"}') =>
  `{"metadata":{"name":"${name}","namespace":"default","resourceVersion":"${rv}","labels":${labels}},"data":{"k":"${name}"}}`;
const typedList = (rv: number, items: string[]) =>
  `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"${rv}"},"items":[${items.join(',')}]}\n`;
const frame = (type: string, name: string, rv: number, labels = '{"app":"a"}') =>
  `{"type":"${type}","object":{"kind":"ConfigMap","apiVersion":"v1",${item(name, rv, labels).slice(1)}}\n`;

before(async () => {
  const pki = await fakeClusterPKI('cached-list');
  dir = pki.dir;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const path = String(headers[':path']);
    const agent = String(headers['user-agent']);
    if (path.startsWith('/apis/authorization.k8s.io/v1/subjectaccessreviews')) {
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 201, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ kind: 'SubjectAccessReview', status: { allowed: true } }));
      });
      return;
    }
    if (path.includes('watch=true')) {
      watches.push({ path, agent, stream });
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      return;
    }
    if (path.startsWith('/api/v1/namespaces/')) {
      lists.push({ path, agent });
      stream.respond({ ':status': listStatus, 'content-type': 'application/json' });
      stream.end(listBody);
      return;
    }
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const rules = [
    {
      name: 'cached',
      match: { verbs: ['list', 'watch'], resources: ['configmaps'] },
      share: 'watches+lists',
    },
  ];
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(fakeClusterConfiguration(`https://127.0.0.1:${port}`, { rules }), dir),
    pino({ level: 'silent' }),
  );
  session = connect(`https://127.0.0.1:${gateway.address.port}`, pki.client);
});

after(async () => {
  session?.destroy();
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = session.request({ ':path': path, accept: 'application/json' });
    let body = '';
    let status = 0;
    r.setEncoding('utf8');
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (c: string) => (body += c));
    r.on('end', () => resolve({ status, body }));
    r.on('error', reject);
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const cached = (q = '') => get(`/api/v1/namespaces/default/configmaps?resourceVersion=0${q}`);

test('one LIST then one WATCH from its resourceVersion; every list is answered from the objects, sorted by key', async () => {
  listBody = typedList(10, [item('b', 5), item('a', 4, '{"app":"b"}')]);
  const first = await cached('&limit=1');
  assert.equal(first.status, 200);
  assert.equal(
    first.body,
    typedList(10, [item('a', 4, '{"app":"b"}'), item('b', 5)]),
    'sorted, limit ignored',
  );
  assert.equal(lists.length, 1);
  assert.equal(lists[0].path, '/api/v1/namespaces/default/configmaps', 'a consistent LIST');
  assert.equal(lists[0].agent, 'kubegate (watch cache)');
  await until('the watch opened', () => watches.length === 1);
  assert.match(watches[0].path, /watch=true&resourceVersion=10&allowWatchBookmarks=true/);
  const w = watches[0].stream;
  w.write(frame('ADDED', 'c', 11, '{"app":"b"}') + frame('MODIFIED', 'b', 12, '{"app":"b"}'));
  w.write(frame('DELETED', 'a', 13).slice(0, 20));
  await sleep(20);
  w.write(frame('DELETED', 'a', 13).slice(20));
  await until('the events were applied', async () =>
    (await cached()).body.includes('"resourceVersion":"13"}'),
  );
  assert.equal(
    (await cached()).body,
    typedList(13, [item('b', 12, '{"app":"b"}'), item('c', 11, '{"app":"b"}')]),
  );
  assert.equal(
    (await cached('&labelSelector=app%3Db&fieldSelector=metadata.name%21%3Db')).body,
    typedList(13, [item('c', 11, '{"app":"b"}')]),
  );
  w.write(
    '{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"20"}}}\n',
  );
  await until('the bookmark moved the list resourceVersion', async () =>
    (await cached()).body.includes('"resourceVersion":"20"}'),
  );
  assert.equal(lists.length, 1, 'no further LIST');
  assert.ok(shareStats.listsServed >= 5);
});

test('a lost watch resumes from the last resourceVersion; a 410 relists', async () => {
  watches[0].stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  await until('the watch resumed', () => watches.length === 2);
  assert.match(watches[1].path, /resourceVersion=20/);
  assert.equal(lists.length, 1, 'no relist for a lost watch');
  listBody = typedList(30, [item('z', 29)]);
  watches[1].stream.write(
    '{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version","reason":"Expired","code":410}}\n',
  );
  await until('relisted', () => lists.length >= 2);
  await until(
    'the relisted state is served',
    async () => (await cached()).body === typedList(30, [item('z', 29)]),
  );
  await until('the watch from the new list', () => watches.some((w) => /resourceVersion=30/.test(w.path)));
  assert.ok(shareStats.listRelists >= 1);
});

test('a list the cache cannot reproduce (list metadata it does not write) is forwarded as it is', async () => {
  const unreproducible = `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7","remainingItemCount":1},"items":[]}\n`;
  listBody = unreproducible;
  const before = lists.length;
  const r = await get('/api/v1/namespaces/other/configmaps?resourceVersion=0');
  assert.equal(r.body, unreproducible);
  assert.equal(lists.length, before + 2, 'the cache LIST, then the forwarded list');
  assert.ok((shareStats.listsForwarded.get('list_format') ?? 0) >= 1);
  listStatus = 403;
  listBody = '{"kind":"Status"}\n';
  const refused = await get('/api/v1/namespaces/third/configmaps?resourceVersion=0');
  assert.equal(refused.status, 403, "the apiserver's own answer");
  assert.ok((shareStats.listsForwarded.get('upstream_refused') ?? 0) >= 1);
  listStatus = 200;
});

test('a watch from resourceVersion 0 gets the cached state as ADDED events, then a shared stream from that point', async () => {
  listBody = typedList(40, [item('y', 38, '{"app":"b"}'), item('x', 39)]);
  const path = '/api/v1/namespaces/w/configmaps';
  const first = await get(`${path}?resourceVersion=0`);
  assert.equal(first.body, typedList(40, [item('x', 39), item('y', 38, '{"app":"b"}')]));
  const before = watches.length;
  const r = session.request({ ':path': `${path}?watch=true&resourceVersion=0&labelSelector=app%3Db` });
  let body = '';
  r.setEncoding('utf8');
  r.on('data', (c: string) => (body += c));
  const added = frame('ADDED', 'y', 38, '{"app":"b"}');
  await until('the initial state came', () => body === added);
  const stream = watches.slice(before).find((w) => w.agent === 'kubegate (shared watch)');
  assert.ok(stream, 'a shared watch opened');
  assert.match(stream.path, /labelSelector=app%3Db/);
  assert.match(stream.path, /resourceVersion=40/, 'from the point the state describes');
  stream.stream.write(frame('MODIFIED', 'y', 41, '{"app":"b"}'));
  await until('the stream followed', () => body === added + frame('MODIFIED', 'y', 41, '{"app":"b"}'));
  assert.ok(shareStats.initialStates >= 1);
  r.close();
});

test('a collection past the cache cap is dropped and its lists forwarded, without a LIST per list', async () => {
  const was = process.env.KUBEGATE_SHARED_LIST_MAX_BYTES;
  process.env.KUBEGATE_SHARED_LIST_MAX_BYTES = '400';
  try {
    // Under the cap at first (two items of ~110 bytes): cached.
    const path = '/api/v1/namespaces/capped/configmaps';
    listBody = typedList(50, [item('a', 48), item('b', 49)]);
    const before = lists.length;
    assert.equal((await get(`${path}?resourceVersion=0`)).body, listBody);
    assert.equal(lists.length, before + 1, 'the cache LIST');
    await until('the watch opened', () => watches.some((w) => w.path.startsWith(`${path}?watch=true`)));
    const w = watches.find((x) => x.path.startsWith(`${path}?watch=true`))!;
    // Three more objects take it past 400 bytes: the cache lets go and stops its watch.
    w.stream.write(frame('ADDED', 'c', 51) + frame('ADDED', 'd', 52) + frame('ADDED', 'e', 53));
    await until('the watch was cancelled', () => w.stream.closed);
    const forwarded = shareStats.listsForwarded.get('too_large') ?? 0;
    listBody = typedList(53, [item('a', 48), item('b', 49), item('c', 51), item('d', 52), item('e', 53)]);
    for (let i = 0; i < 3; i++) assert.equal((await get(`${path}?resourceVersion=0`)).body, listBody);
    assert.equal(lists.length, before + 4, 'each list forwarded once, and no cache LIST again');
    assert.equal((shareStats.listsForwarded.get('too_large') ?? 0) - forwarded, 3);
    // A collection past the cap from its first LIST is never served from the cache either.
    const big = '/api/v1/namespaces/big/configmaps';
    const n = lists.length;
    assert.equal((await get(`${big}?resourceVersion=0`)).body, listBody);
    assert.equal(lists.length, n + 2, 'the cache LIST, then the forwarded list');
    assert.equal((await get(`${big}?resourceVersion=0`)).body, listBody);
    assert.equal(lists.length, n + 3);
    assert.ok(!watches.some((x) => x.path.startsWith(`${big}?watch=true`)), 'no watch for it');
  } finally {
    if (was === undefined) delete process.env.KUBEGATE_SHARED_LIST_MAX_BYTES;
    else process.env.KUBEGATE_SHARED_LIST_MAX_BYTES = was;
  }
});
