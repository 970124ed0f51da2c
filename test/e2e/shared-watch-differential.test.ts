// Shared watches (`share: watches`, docs/shared-watches.md) against the real apiservers: what each
// client of a shared stream receives is compared, frame for frame and byte for byte, with a direct
// watch from the same resourceVersion on another replica. What may legitimately differ: bookmarks
// (each apiserver sends its own, on its own schedule), so they are compared only for order
// (never behind an event) and left out of the equality.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { issueCert } from '../../src/dev/pki.ts';
import { adminH2, devDir, devState, jsonLines, kubectl } from './env.ts';
import { OwnGateway } from './own-gateway.ts';
import { metric, sharedWatches, until } from './watch-helpers.ts';

// A small window, so that a slow reader falls out of it after a few dozen events.
process.env.KUBEGATE_SHARED_WATCH_WINDOW = '60';

const ns = `share-${process.pid}`;
let gw: OwnGateway;
let viaGateway: ClientHttp2Session;
const direct: ClientHttp2Session[] = [];

/** One watch response read line by line (each line one frame as sent). */
class WatchReader {
  readonly stream: ClientHttp2Stream;
  status = 0;
  body = '';
  readonly lines: string[] = [];
  ended = false;
  reset = false;
  #partial = '';
  readonly head: Promise<number>;

  constructor(s: ClientHttp2Session, path: string, opts: { paused?: boolean } = {}) {
    this.stream = s.request({ ':path': path, accept: 'application/json' });
    this.head = new Promise((resolve) => {
      this.stream.once('response', (h) => resolve((this.status = Number(h[':status']))));
      this.stream.once('close', () => resolve(this.status));
    });
    this.stream.setEncoding('utf8');
    this.stream.on('error', () => (this.reset = true));
    this.stream.on('end', () => (this.ended = true));
    if (!opts.paused) this.read();
  }

  read(): void {
    this.stream.on('data', (c: string) => {
      this.body += c;
      const text = this.#partial + c;
      const parts = text.split('\n');
      this.#partial = parts.pop()!;
      for (const p of parts) this.lines.push(p + '\n');
    });
  }

  /** Frames other than bookmarks. */
  events(): string[] {
    return this.lines.filter((l) => !l.startsWith('{"type":"BOOKMARK"'));
  }

  close(): void {
    this.stream.close();
  }
}

function request(
  s: ClientHttp2Session,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = s.request(
      { ':method': method, ':path': path, 'content-type': 'application/json' },
      { endStream: body === undefined },
    );
    let text = '';
    let status = 0;
    r.setEncoding('utf8');
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (c: string) => (text += c));
    r.on('end', () => resolve({ status, text }));
    r.on('error', reject);
    if (body !== undefined) r.end(JSON.stringify(body));
  });
}

async function listRV(s: ClientHttp2Session): Promise<string> {
  const r = await request(s, 'GET', `/api/v1/namespaces/${ns}/configmaps`);
  assert.equal(r.status, 200, r.text);
  return (JSON.parse(r.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

/** Creates or replaces ConfigMap `name` with `bytes` of data. */
async function put(s: ClientHttp2Session, name: string, value: string): Promise<void> {
  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { v: value } };
  const path = `/api/v1/namespaces/${ns}/configmaps`;
  const r = await request(s, 'PUT', `${path}/${name}`, obj);
  if (r.status === 404) {
    const c = await request(s, 'POST', path, obj);
    assert.equal(c.status, 201, c.text);
  } else assert.equal(r.status, 200, r.text);
}

async function remove(s: ClientHttp2Session, name: string): Promise<void> {
  const r = await request(s, 'DELETE', `/api/v1/namespaces/${ns}/configmaps/${name}`);
  assert.equal(r.status, 200, r.text);
}

const watchPath = (rv: string, extra = '') =>
  `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}${extra}`;

before(async () => {
  gw = await OwnGateway.start(
    {
      rules: [
        {
          name: 'shared-configmaps',
          match: { verbs: ['watch'], resources: ['configmaps'] },
          share: 'watches',
        },
      ],
    },
    { admin: true },
  );
  await kubectl('apiserver-0.kubeconfig', ['create', 'namespace', ns]);
  viaGateway = gw.session();
  for (const url of devState().apiservers) direct.push(adminH2(url));
});

after(async () => {
  viaGateway?.destroy();
  for (const s of direct) s.destroy();
  await kubectl('apiserver-0.kubeconfig', ['delete', 'namespace', ns, '--wait=false']).catch(() => '');
  await gw?.stop();
});

beforeEach(async () => {
  await until(
    'no shared watch is left from an earlier test',
    async () => (await sharedWatches(gw, 'upstream')) === 0,
  );
});

test('identical watches share one upstream watch and each sees byte for byte what a direct watch sees', async () => {
  const rv0 = await listRV(direct[0]);
  const d = new WatchReader(direct[1], watchPath(rv0));
  const g = [
    new WatchReader(viaGateway, watchPath(rv0)),
    new WatchReader(viaGateway, watchPath(rv0, '&allowWatchBookmarks=true')),
    new WatchReader(viaGateway, watchPath(rv0, '&timeoutSeconds=300')),
  ];
  try {
    assert.deepEqual(await Promise.all([d.head, ...g.map((r) => r.head)]), [200, 200, 200, 200]);
    assert.equal(
      await sharedWatches(gw, 'upstream'),
      1,
      'one upstream watch for three identical client watches',
    );
    assert.equal(await sharedWatches(gw, 'client'), 3);
    for (let i = 0; i < 8; i++) await put(direct[0], `cm-${i}`, `first-${i}`);
    for (let i = 0; i < 8; i++) await put(direct[2], `cm-${i}`, `second-${i}`);
    for (let i = 0; i < 4; i++) await remove(direct[0], `cm-${i}`);
    const n = 20;
    await until('the direct watch saw every change', () => d.events().length >= n);
    await until('every shared client saw every change', () => g.every((r) => r.events().length >= n));
    for (const r of g) assert.deepEqual(r.events(), d.events());
    assert.equal(d.events().length, n);

    // A client from a resourceVersion in the middle is served from the window: what follows it.
    const mid = (JSON.parse(d.events()[9]) as { object: { metadata: { resourceVersion: string } } }).object
      .metadata.resourceVersion;
    const late = new WatchReader(viaGateway, watchPath(mid));
    const lateDirect = new WatchReader(direct[2], watchPath(mid));
    g.push(late, lateDirect);
    await put(direct[1], 'cm-last', 'x');
    await until(
      'the late watches saw the next change',
      () => late.events().length >= 11 && lateDirect.events().length >= 11,
    );
    assert.deepEqual(late.events(), lateDirect.events());
    assert.deepEqual(late.events().slice(0, 10), d.events().slice(10, 20));
    assert.equal(await sharedWatches(gw, 'upstream'), 1, 'the late client joined the same upstream watch');
  } finally {
    d.close();
    for (const r of g) r.close();
  }
  await until(
    'the upstream watch ends with its last client',
    async () => (await sharedWatches(gw, 'upstream')) === 0,
  );
});

test('a client without RBAC for the resource gets the apiserver 403 though a shared stream exists', async () => {
  const rv0 = await listRV(direct[0]);
  const allowed = new WatchReader(viaGateway, watchPath(rv0));
  const pki = join(devDir(), 'pki');
  const files = await issueCert(
    join(devDir(), 'users'),
    `share-nobody-${process.pid}`,
    {
      cert: join(pki, 'ca.crt'),
      key: join(pki, 'ca.key'),
    },
    { cn: `share-nobody-${process.pid}`, usage: 'client' },
  );
  const nobodyGw = gw.session(gw.url, files);
  const ca = readFileSync(join(pki, 'ca.crt'));
  const nobodyDirect = connect(devState().apiservers[0], {
    ca,
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
  });
  try {
    assert.equal(await allowed.head, 200);
    assert.equal(await sharedWatches(gw, 'upstream'), 1);
    const viaGw = new WatchReader(nobodyGw, watchPath(rv0));
    const viaApiserver = new WatchReader(nobodyDirect, watchPath(rv0));
    await until('both answered', () => viaGw.ended && viaApiserver.ended);
    assert.equal(viaGw.status, 403);
    assert.equal(viaApiserver.status, 403);
    assert.equal(viaGw.body, viaApiserver.body);
    assert.equal(await sharedWatches(gw, 'client'), 1, 'the refused client was not attached');
  } finally {
    allowed.close();
    nobodyGw.close();
    nobodyDirect.close();
  }
});

test('a client that stops reading is closed cleanly when it falls out of the window; the others get every event', async () => {
  const rv0 = await listRV(direct[0]);
  const d = new WatchReader(direct[1], watchPath(rv0));
  const fast = new WatchReader(viaGateway, watchPath(rv0));
  // Its own connection: HTTP/2 flow control then stops the gateway writing to it, not to `fast`.
  const slowSession = gw.session();
  const slow = new WatchReader(slowSession, watchPath(rv0), { paused: true });
  try {
    assert.deepEqual(await Promise.all([d.head, fast.head, slow.head]), [200, 200, 200]);
    const big = 'x'.repeat(16 * 1024);
    const n = 150;
    for (let i = 0; i < n; i++) await put(direct[i % 3], `big-${i % 10}`, `${i}-${big}`);
    await until('the fast client saw every change', () => fast.events().length >= n, 60_000);
    await until('the direct watch saw every change', () => d.events().length >= n, 60_000);
    assert.deepEqual(fast.events(), d.events());
    assert.ok((await metric(gw, 'kubegate_shared_watch_events_total{result="evicted"}')) >= 1, 'an eviction');
    slow.read();
    await until('the slow client reads to its end', () => slow.ended || slow.reset, 30_000);
    assert.equal(slow.reset, false, 'closed cleanly, not reset');
    const got = slow.events();
    assert.ok(got.length < n, `the slow client got ${got.length} of ${n} events before it was closed`);
    assert.deepEqual(got, d.events().slice(0, got.length), 'what it got has no gap');
  } finally {
    d.close();
    fast.close();
    slow.close();
    slowSession.close();
  }
});

test('an apiserver killed under a shared watch: clients see every event once, as a direct watch does', async (t) => {
  const rv0 = await listRV(direct[0]);
  const g = [new WatchReader(viaGateway, watchPath(rv0)), new WatchReader(viaGateway, watchPath(rv0))];
  const open = [...g];
  let killed = false;
  t.after(() => {
    for (const r of open) r.close();
    // kubegate dev restarts a killed apiserver on SIGHUP, so later tests see three replicas.
    if (killed) process.kill(devState().pids.kubegate, 'SIGHUP');
  });
  assert.deepEqual(await Promise.all(g.map((r) => r.head)), [200, 200]);
  // The replica that serves the upstream watch: its audit log has it (the gateway's user agent).
  let victim = -1;
  await until('an apiserver audited the shared upstream watch', () => {
    for (let i = 0; i < devState().apiservers.length && victim < 0; i++) {
      const lines = jsonLines(join(devDir(), 'audit', `apiserver-${i}.log`));
      if (
        lines.some(
          (e) =>
            e.userAgent === 'kubegate (shared watch)' &&
            String(e.requestURI).includes(`/namespaces/${ns}/configmaps`) &&
            String(e.requestURI).includes(`resourceVersion=${rv0}`),
        )
      )
        victim = i;
    }
    return victim >= 0;
  });
  const others = [0, 1, 2].filter((i) => i !== victim);
  const d = new WatchReader(direct[others[0]], watchPath(rv0));
  open.push(d);
  assert.equal(await d.head, 200);
  const writer = direct[others[1]];
  const n = 40;
  for (let i = 0; i < n; i++) {
    if (i === 10) {
      process.kill(devState().pids[`kube-apiserver-${victim}`], 'SIGKILL');
      killed = true;
    }
    await put(writer, `kill-${i % 5}`, String(i));
    await sleep(50);
  }
  process.kill(devState().pids.kubegate, 'SIGHUP');
  killed = false;
  await until('the direct watch saw every change', () => d.events().length >= n, 60_000);
  await until('the shared clients saw every change', () => g.every((r) => r.events().length >= n), 60_000);
  for (const r of g) assert.deepEqual(r.events(), d.events(), 'no gap, no duplicate');
  assert.ok((await metric(gw, 'kubegate_shared_watch_events_total{result="resumed"}')) >= 1, 'resumed');
  assert.equal(await sharedWatches(gw, 'upstream'), 1);
  // Let the restarted replica come back before the next test file.
  await until(
    `apiserver-${victim} is ready again`,
    async () => {
      const s = adminH2(devState().apiservers[victim]);
      s.on('error', () => {});
      try {
        const r = await Promise.race([request(s, 'GET', '/readyz'), sleep(1000).then(() => ({ status: 0 }))]);
        return r.status === 200;
      } catch {
        return false;
      } finally {
        s.destroy();
      }
    },
    90_000,
  );
  // The session to the killed replica died with it.
  direct[victim].destroy();
  direct[victim] = adminH2(devState().apiservers[victim]);
});

test('protobuf watches share one upstream watch too, and each client gets the direct watch bytes', async () => {
  const rv0 = await listRV(direct[0]);
  const accept = 'application/vnd.kubernetes.protobuf, application/json';
  const open = (s: ClientHttp2Session) => {
    const r = s.request({ ':path': watchPath(rv0), accept });
    const chunks: Buffer[] = [];
    const head = new Promise<string>((resolve) =>
      r.once('response', (h) => resolve(`${h[':status']} ${h['content-type']}`)),
    );
    r.on('data', (c: Buffer) => chunks.push(c));
    return { r, head, bytes: () => Buffer.concat(chunks) };
  };
  const d = open(direct[1]);
  const g = [open(viaGateway), open(viaGateway)];
  try {
    const heads = await Promise.all([d.head, ...g.map((x) => x.head)]);
    assert.deepEqual(heads, Array(3).fill('200 application/vnd.kubernetes.protobuf;stream=watch'));
    await until('one upstream watch for both', async () => (await sharedWatches(gw, 'upstream')) === 1);
    for (let i = 0; i < 6; i++) await put(direct[0], `pb-${i % 3}`, `v${i}`);
    await until('the direct watch got 6 frames', () => frames(d.bytes()) === 6);
    await until('the shared clients got 6 frames', () => g.every((x) => frames(x.bytes()) === 6));
    for (const x of g) assert.deepEqual(x.bytes(), d.bytes());
  } finally {
    for (const x of [d, ...g]) x.r.close();
  }
});

/** Whole length-prefixed frames in a protobuf watch body. */
function frames(b: Buffer): number {
  let n = 0;
  for (let i = 0; i + 4 <= b.length; n++) {
    const len = b.readUInt32BE(i);
    if (i + 4 + len > b.length) break;
    i += 4 + len;
  }
  return n;
}

test("client-go's watch-lists share upstream ones: the same initial state and changes as a direct watch-list", async () => {
  // The initial state, in a namespace of its own so it is fixed while the watch-lists are read.
  for (let i = 0; i < 5; i++) await put(direct[0], `wl-${i}`, `v${i}`);
  const q =
    'sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=';
  const path = `/api/v1/namespaces/${ns}/configmaps?watch=true&${q}`;
  const upstreamBefore = await metric(gw, 'kubegate_shared_watch_lists_total{result="upstream"}');
  const d = new WatchReader(direct[1], path);
  const g = Array.from({ length: 10 }, () => new WatchReader(viaGateway, path));
  const endOf = (r: WatchReader) =>
    r.lines.findIndex((l) => l.includes('"k8s.io/initial-events-end":"true"'));
  try {
    assert.deepEqual(new Set(await Promise.all([d.head, ...g.map((r) => r.head)])), new Set([200]));
    await until('every watch-list had its initial events', () => [d, ...g].every((r) => endOf(r) >= 0));
    const initial = (r: WatchReader) => r.lines.slice(0, endOf(r));
    assert.ok(initial(d).length >= 5, `the five, and what earlier tests left: ${initial(d).length}`);
    for (const r of g) assert.deepEqual(initial(r), initial(d), 'the initial events byte for byte');
    // Ten clients that came together: one upstream watch-list, or two when the first was sent
    // before the others arrived (the second then takes all of them).
    const upstream =
      (await metric(gw, 'kubegate_shared_watch_lists_total{result="upstream"}')) - upstreamBefore;
    assert.ok(upstream >= 1 && upstream <= 2, `upstream watch-lists for ten clients: ${upstream}`);
    // Past their initial events the clients move to one plain watch; the watch-lists go.
    await until(
      'one upstream watch left for the ten',
      async () => (await sharedWatches(gw, 'upstream')) === 1,
    );
    assert.equal(await sharedWatches(gw, 'client'), 10);
    await put(direct[2], 'wl-0', 'changed');
    await remove(direct[0], 'wl-1');
    await until('the direct watch-list saw both changes', () => d.events().length >= initial(d).length + 2);
    await until('every shared one did', () => g.every((r) => r.events().length >= initial(d).length + 2));
    for (const r of g) assert.deepEqual(r.events(), d.events(), 'the changes byte for byte');
  } finally {
    d.close();
    for (const r of g) r.close();
  }
});
