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
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// A fake kube-apiserver whose watch frames the test writes by hand, behind a gateway whose rule
// shares configmap watches: the fan-out, per-client resourceVersions and bookmarks, the resume
// after a lost upstream watch, Status frames, per-client timeouts and the access check.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let session: ClientHttp2Session;
/** Another connection to the gateway as the same client. */
let newSession: () => ClientHttp2Session;
/** Upstream watch requests, in order: their path and the stream to write frames on. */
const watches: { path: string; user: string; stream: ServerHttp2Stream }[] = [];
let allow = true;
/** Plain (not watch-list) watches get no response head until the test sends it. */
let holdPlainWatches = false;
let reviews = 0;

const frame = (type: string, rv: number) =>
  `{"type":"${type}","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"default","resourceVersion":"${rv}"}}}\n`;

before(async () => {
  const pki = await fakeClusterPKI('share');
  dir = pki.dir;
  upstream = createSecureServer(pki.apiserver);
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const path = String(headers[':path']);
    if (path.startsWith('/apis/authorization.k8s.io/v1/subjectaccessreviews')) {
      reviews++;
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 201, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ kind: 'SubjectAccessReview', status: { allowed: allow } }));
      });
      return;
    }
    if (path.includes('watch=true')) {
      watches.push({ path, user: String(headers['impersonate-user']), stream });
      if (holdPlainWatches && !path.includes('sendInitialEvents')) return;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      return;
    }
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const rules = [
    { name: 'shared', match: { verbs: ['watch'], resources: ['configmaps'] }, share: 'watches' },
  ];
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(fakeClusterConfiguration(`https://127.0.0.1:${port}`, { rules }), dir),
    pino({ level: 'silent' }),
  );
  const url = `https://127.0.0.1:${gateway.address.port}`;
  newSession = () => connect(url, pki.client);
  session = newSession();
});

after(async () => {
  session?.destroy();
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

class Watch {
  status = 0;
  body = '';
  ended = false;
  readonly closed: Promise<void>;
  readonly stream;
  constructor(path: string) {
    this.stream = session.request({ ':path': path });
    this.stream.setEncoding('utf8');
    this.stream.on('response', (h) => (this.status = Number(h[':status'])));
    this.stream.on('data', (c: string) => (this.body += c));
    this.stream.on('end', () => (this.ended = true));
    this.closed = new Promise((r) => this.stream.on('close', () => r()));
  }
  rvs(): string[] {
    return this.body
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const f = JSON.parse(l) as { type: string; object: { metadata?: { resourceVersion?: string } } };
        return `${f.type} ${f.object.metadata?.resourceVersion ?? ''}`.trim();
      });
  }
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const path = (q: string) => `/api/v1/namespaces/default/configmaps?watch=true&${q}`;

test('identical watches share one upstream watch; each gets events above its own resourceVersion, bookmarks only if asked', async () => {
  const a = new Watch(path('resourceVersion=10'));
  await until('the upstream watch opened', () => watches.length === 1);
  assert.match(watches[0].path, /resourceVersion=10/);
  assert.match(watches[0].path, /allowWatchBookmarks=true/);
  assert.equal(watches[0].user, 'alice', 'the upstream watch runs as the opening client');
  const up = watches[0].stream;
  up.write(frame('ADDED', 11) + frame('BOOKMARK', 12));
  // One frame split across two DATA frames.
  const m13 = frame('MODIFIED', 13);
  up.write(m13.slice(0, 30));
  await sleep(20);
  up.write(m13.slice(30));
  await until('a got 13', () => a.rvs().length === 2);
  const b = new Watch(path('resourceVersion=11&allowWatchBookmarks=true&timeoutSeconds=1'));
  await until('b got its backlog', () => b.rvs().length === 2);
  up.write(frame('DELETED', 14));
  await until('both got 14', () => a.rvs().length === 3 && b.rvs().length === 3);
  assert.equal(watches.length, 1, 'one upstream watch');
  assert.deepEqual(a.rvs(), ['ADDED 11', 'MODIFIED 13', 'DELETED 14']);
  assert.deepEqual(b.rvs(), ['BOOKMARK 12', 'MODIFIED 13', 'DELETED 14']);
  assert.equal(a.status, 200);
  // b asked for timeoutSeconds=1: its response ends cleanly, a's goes on.
  await b.closed;
  assert.ok(b.ended, 'b ended cleanly at its timeout');
  assert.equal(b.stream.rstCode, constants.NGHTTP2_NO_ERROR);
  assert.equal(a.ended, false);

  // The upstream watch is lost mid-frame: resumed from the last resourceVersion, no gap or duplicate.
  up.write(frame('ADDED', 15) + frame('MODIFIED', 16).slice(0, 25));
  await until('a got 15', () => a.rvs().length === 4);
  up.close(constants.NGHTTP2_INTERNAL_ERROR);
  await until('the watch was resumed', () => watches.length === 2);
  assert.match(watches[1].path, /resourceVersion=15/);
  watches[1].stream.write(frame('MODIFIED', 16) + frame('MODIFIED', 17));
  await until('a got 17', () => a.rvs().length === 6);
  assert.deepEqual(a.rvs().slice(3), ['ADDED 15', 'MODIFIED 16', 'MODIFIED 17']);

  // A Status in the stream goes to every client as it came, then each response ends.
  const c = new Watch(path('resourceVersion=16'));
  await until('c got 17', () => c.rvs().length === 1);
  const gone =
    '{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (16)","reason":"Expired","code":410}}\n';
  watches[1].stream.write(gone);
  await Promise.all([a.closed, c.closed]);
  assert.ok(a.ended && c.ended);
  assert.ok(a.body.endsWith(gone));
  assert.equal(c.body, frame('MODIFIED', 17) + gone);
  assert.equal(watches.length, 2, 'no further upstream watch');
});

test('a client the access check denies gets kube-apiserver 403 Status; others are unaffected', async () => {
  allow = false;
  try {
    const before = reviews;
    const d = new Watch('/api/v1/namespaces/private/configmaps?watch=true&resourceVersion=5');
    await d.closed;
    assert.equal(d.status, 403);
    assert.equal(
      d.body,
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps is forbidden: User \\"alice\\" cannot watch resource \\"configmaps\\" in API group \\"\\" in the namespace \\"private\\"","reason":"Forbidden","details":{"kind":"configmaps"},"code":403}\n',
    );
    assert.equal(reviews, before + 1);
    // The denial is cached (the token cache's failure TTL): a second try makes no review.
    const e = new Watch('/api/v1/namespaces/private/configmaps?watch=true&resourceVersion=5');
    await e.closed;
    assert.equal(e.status, 403);
    assert.equal(reviews, before + 1);
  } finally {
    allow = true;
  }
});

test('watches the stream cannot serve exactly are forwarded as they are', async () => {
  const n = watches.length;
  // No resourceVersion: the apiserver sends the current state first.
  const f = new Watch('/api/v1/namespaces/default/configmaps?watch=true');
  await until('forwarded', () => watches.length === n + 1);
  assert.doesNotMatch(watches[n].path, /allowWatchBookmarks/);
  assert.equal(watches[n].user, 'alice');
  watches[n].stream.end(frame('ADDED', 99));
  await f.closed;
  assert.equal(f.body, frame('ADDED', 99));
});

const LIST_Q =
  'sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=';
const endBookmark = (rv: number) =>
  `{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"${rv}","annotations":{"k8s.io/initial-events-end":"true"}}}}\n`;

test('watch-lists that come before the upstream one is sent share it; a later one waits for its initial events; then all move to one plain watch', async () => {
  const listPath = (ns: string) => `/api/v1/namespaces/${ns}/configmaps?watch=true&${LIST_Q}`;
  const n = watches.length;
  const a = new Watch(listPath('wl'));
  const b = new Watch(listPath('wl'));
  await until('one upstream watch-list', () => watches.length === n + 1);
  const first = watches[n];
  assert.match(first.path, /sendInitialEvents=true/);
  assert.match(first.path, /resourceVersionMatch=NotOlderThan/);
  assert.doesNotMatch(first.path, /resourceVersion=[0-9]/, 'a consistent read, as the clients asked');
  first.stream.write(frame('ADDED', 7));
  await until('both got the first initial event', () => a.rvs().length === 1 && b.rvs().length === 1);
  // c comes after that request went out: the state it was given may be older than c, so c gets
  // a request of its own, sent once the first one's initial events are all in.
  const c = new Watch(listPath('wl'));
  const d = new Watch(listPath('wl'));
  await sleep(200);
  assert.equal(watches.length, n + 1, 'the next watch-list waits for the initial events before it');
  first.stream.write(frame('ADDED', 9) + endBookmark(20) + frame('MODIFIED', 21));
  await until('a and b got the state and the change', () => a.rvs().length === 4 && b.rvs().length === 4);
  assert.deepEqual(a.rvs(), ['ADDED 7', 'ADDED 9', 'BOOKMARK 20', 'MODIFIED 21']);
  assert.deepEqual(b.body, a.body);
  // Past its initial events, its clients move to one plain watch from where they are, and the
  // watch-list upstream is cancelled.
  const plainOf = () => watches.slice(n).find((w) => !w.path.includes('sendInitialEvents'));
  await until('a plain watch opened', () => plainOf() !== undefined);
  const plain = plainOf()!;
  assert.match(plain.path, /resourceVersion=21/);
  await until('the first watch-list was cancelled', () => first.stream.closed);
  plain.stream.write(frame('DELETED', 23));
  await until('a and b went on from the plain watch', () => a.rvs().length === 5 && b.rvs().length === 5);
  assert.equal(a.rvs()[4], 'DELETED 23');
  const second = watches.slice(n).find((w) => w !== first && w.path.includes('sendInitialEvents'));
  assert.ok(second, 'the second watch-list was sent once the first had its initial events');
  // The second consistent read is at 30, which the plain watch has not reached (other objects
  // changed in between). c and d still move to it: what it brings at or below 30 was in their
  // state, so they get only what comes after.
  second.stream.write(frame('ADDED', 9) + frame('MODIFIED', 25) + endBookmark(30));
  await until('c and d got their state', () => c.rvs().length === 3 && d.rvs().length === 3);
  assert.deepEqual(c.rvs(), ['ADDED 9', 'MODIFIED 25', 'BOOKMARK 30']);
  await until('the second watch-list was cancelled', () => second.stream.closed);
  assert.equal(watches.length, n + 3, 'four clients: two watch-lists, then one plain watch for all');
  plain.stream.write(frame('MODIFIED', 25) + frame('DELETED', 31));
  await until('all four got the change after 30', () =>
    [a, b, c, d].every((w) => w.rvs().at(-1) === 'DELETED 31'),
  );
  assert.deepEqual(a.rvs().slice(5), ['MODIFIED 25', 'DELETED 31']);
  assert.deepEqual(c.rvs(), ['ADDED 9', 'MODIFIED 25', 'BOOKMARK 30', 'DELETED 31']);
  assert.equal(d.body, c.body);

  // The plain watch resumes as any shared watch does.
  plain.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  await until('it resumed', () => watches.length === n + 4);
  assert.match(watches[n + 3].path, /resourceVersion=31/);
  watches[n + 3].stream.write(frame('MODIFIED', 32));
  await until('all four went on', () => [a, b, c, d].every((w) => w.rvs().at(-1) === 'MODIFIED 32'));
  assert.ok([a, b, c, d].every((w) => !w.ended));

  // Cut during its initial events, a watch-list cannot be finished from a point: its clients
  // end cleanly and watch-list again.
  const e = new Watch(listPath('wl-cut'));
  await until('its watch-list was sent', () => watches.length === n + 5);
  watches[n + 4].stream.write(frame('ADDED', 5));
  await until('e got the first event', () => e.rvs().length === 1);
  watches[n + 4].stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  await e.closed;
  assert.ok(e.ended, 'ended cleanly');
  assert.equal(e.stream.rstCode, constants.NGHTTP2_NO_ERROR);
  await sleep(100);
  assert.equal(watches.length, n + 5, 'not resumed');
  for (const w of [a, b, c, d]) w.stream.close();
});

test('two watch-lists done while the plain watch opens both move to it: one plain watch, not two', async () => {
  const listPath = `/api/v1/namespaces/wl-race/configmaps?watch=true&${LIST_Q}`;
  const n = watches.length;
  holdPlainWatches = true;
  try {
    const a = new Watch(listPath);
    await until('the first watch-list was sent', () => watches.length === n + 1);
    const first = watches[n];
    first.stream.write(frame('ADDED', 7));
    await until('a got its first event', () => a.rvs().length === 1);
    const b = new Watch(listPath); // after the first was sent: a watch-list of its own, sent later
    await sleep(100);
    first.stream.write(endBookmark(20));
    // The first's clients wait for a plain watch, which opens slowly; the second is sent meanwhile.
    await until('a plain watch and the second watch-list were sent', () => watches.length === n + 3);
    const plain = watches.slice(n).find((w) => !w.path.includes('sendInitialEvents'))!;
    const second = watches.slice(n).find((w) => w !== first && w.path.includes('sendInitialEvents'))!;
    second.stream.write(endBookmark(30));
    await until('b got its state', () => b.rvs().length === 1);
    await sleep(300);
    plain.stream.respond({ ':status': 200, 'content-type': 'application/json' });
    await until('both watch-lists were cancelled', () => first.stream.closed && second.stream.closed);
    assert.equal(watches.length, n + 3, 'one plain watch for both watch-lists');
    plain.stream.write(frame('MODIFIED', 31));
    await until('both went on from it', () => [a, b].every((w) => w.rvs().at(-1) === 'MODIFIED 31'));
    for (const w of [a, b]) w.stream.close();
  } finally {
    holdPlainWatches = false;
  }
});

test("a watch-list's clients move to the plain watch its state is level with, though the first of them still lags", async () => {
  const listPath = `/api/v1/namespaces/wl-lag/configmaps?watch=true&${LIST_Q}`;
  const n = watches.length;
  const a = new Watch(listPath);
  await until('the first watch-list was sent', () => watches.length === n + 1);
  const first = watches[n];
  first.stream.write(frame('ADDED', 7));
  await until('a got its first event', () => a.rvs().length === 1);
  // Two more after it was sent: the second watch-list. The first of them does not read (its own
  // connection, so flow control holds only it back).
  const slowSession = newSession();
  const slow = slowSession.request({ ':path': listPath });
  await sleep(300); // its own TLS handshake: it comes first, so it is its watch-list's first client
  const fast = new Watch(listPath);
  await sleep(100);
  first.stream.write(endBookmark(20));
  await until('a plain watch from 20 and the second watch-list were sent', () => watches.length === n + 3);
  const plain = watches.slice(n).find((w) => !w.path.includes('sendInitialEvents'))!;
  assert.match(plain.path, /resourceVersion=20/);
  const second = watches.slice(n).find((w) => w !== first && w.path.includes('sendInitialEvents'))!;
  // Objects last changed before 20, more than a flow-control window of them, then the end at 30.
  const big = (rv: number) =>
    `{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"o${rv}","namespace":"wl-lag","resourceVersion":"${rv}"},"data":{"v":"${'x'.repeat(16 * 1024)}"}}}\n`;
  second.stream.write([8, 9, 10, 11, 12, 13, 14, 15].map(big).join('') + endBookmark(30));
  await until('fast got the state', () => fast.rvs().at(-1) === 'BOOKMARK 30');
  await sleep(300);
  plain.stream.write(frame('MODIFIED', 31));
  await until('fast went on from the plain watch', () => fast.rvs().at(-1) === 'MODIFIED 31');
  assert.equal(watches.length, n + 3, 'no second plain watch');
  let body = '';
  slow.setEncoding('utf8');
  slow.on('data', (c: string) => (body += c));
  await until('the slow one caught up and moved too', () => body.endsWith(frame('MODIFIED', 31)), 5000);
  await until('the second watch-list was cancelled', () => second.stream.closed);
  assert.equal(watches.length, n + 3);
  for (const w of [a, fast]) w.stream.close();
  slow.close();
  slowSession.close();
});
