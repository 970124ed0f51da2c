// Cached lists (`share: watches+lists`, docs/shared-watches.md) against the real apiservers: a
// LIST with resourceVersion=0 through kubegate is answered from its watch cache, and its body is
// compared byte for byte with the same LIST sent straight to an apiserver (whose own watch cache
// answers it). What may differ: the list's metadata.resourceVersion (each cache is at its own
// point; kubegate's is never behind the last write it saw), so bodies are compared with it masked,
// once both caches have seen the writes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { issueCert } from '../../src/dev/pki.ts';
import { parseProtobufList } from '../../src/share/protobuf-items.ts';
import { adminH2, devDir, devState, jsonLines, kubectl } from './env.ts';
import { OwnGateway } from './own-gateway.ts';

const ns = `shared-list-${process.pid}`;
const collection = `/api/v1/namespaces/${ns}/configmaps`;
let gw: OwnGateway;
let viaGateway: ClientHttp2Session;
const direct: ClientHttp2Session[] = [];

interface Answer {
  status: number;
  text: string;
  headers: Record<string, unknown>;
}

function request(s: ClientHttp2Session, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = s.request(
      {
        ':method': method,
        ':path': path,
        'content-type': 'application/json',
        accept: 'application/json, */*',
      },
      { endStream: body === undefined },
    );
    let text = '';
    let status = 0;
    let headers: Record<string, unknown> = {};
    r.setEncoding('utf8');
    r.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    r.on('data', (c: string) => (text += c));
    r.on('end', () => resolve({ status, text, headers }));
    r.on('error', reject);
    if (body !== undefined) r.end(JSON.stringify(body));
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting until ${what}`);
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${gw.adminURL}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const served = () => metric('kubegate_shared_list_served_total');

/** Creates or replaces ConfigMap `name`; returns its resourceVersion. */
async function put(
  s: ClientHttp2Session,
  name: string,
  labels: Record<string, string>,
  v: string,
): Promise<bigint> {
  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data: { v } };
  let r = await request(s, 'PUT', `${collection}/${name}`, obj);
  if (r.status === 404) r = await request(s, 'POST', collection, obj);
  assert.ok(r.status === 200 || r.status === 201, r.text);
  return BigInt((JSON.parse(r.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
}

async function remove(s: ClientHttp2Session, name: string): Promise<void> {
  const r = await request(s, 'DELETE', `${collection}/${name}`);
  assert.equal(r.status, 200, r.text);
}

const LIST_RV = /^(\{"kind":"[^"]*","apiVersion":"[^"]*","metadata":\{"resourceVersion":")([0-9]+)"/;

function listRV(text: string): bigint {
  const m = LIST_RV.exec(text);
  assert.ok(m, `a typed list: ${text.slice(0, 120)}`);
  return BigInt(m[2]);
}

const masked = (text: string) => text.replace(LIST_RV, '$1…"');

/**
 * The list through kubegate (from its cache) and straight from apiserver `i`, once both hold
 * every write up to `rv`: their bodies with the list's resourceVersion masked.
 */
async function both(query: string, rv: bigint, i = 0): Promise<{ gw: Answer; direct: Answer }> {
  const path = `${collection}?${query}`;
  let out: { gw: Answer; direct: Answer } | null = null;
  await until(`both lists of ${query} hold resourceVersion ${rv}`, async () => {
    const [g, d] = await Promise.all([request(viaGateway, 'GET', path), request(direct[i], 'GET', path)]);
    out = { gw: g, direct: d };
    return g.status !== 200 || d.status !== 200 || (listRV(g.text) >= rv && listRV(d.text) >= rv);
  });
  return out!;
}

/** Forwarded-list counters by reason, for assertion messages. */
async function forwardedReasons(): Promise<string> {
  const text = await (await fetch(`${gw.adminURL}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('kubegate_shared_list_forwarded_total{'))
    .join('; ');
}

/**
 * The list through kubegate equals the direct one and came from the cache. While the cache
 * relists (after a 410 or a watch it could not resume) lists are forwarded by design, so a
 * forwarded answer is retried for a while.
 */
async function sameList(query: string, rv: bigint, i = 0): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const before = await served();
    const { gw: g, direct: d } = await both(query, rv, i);
    const fromCache = (await served()) > before;
    if (fromCache || Date.now() > deadline) {
      assert.equal(g.status, 200, g.text);
      assert.equal(d.status, 200, d.text);
      assert.equal(masked(g.text), masked(d.text), `the body of ${query}`);
      assert.equal(g.headers['content-type'], d.headers['content-type']);
      assert.ok(fromCache, `${query} was answered from the cache (forwarded: ${await forwardedReasons()})`);
      return;
    }
    await sleep(200);
  }
}

before(async () => {
  gw = await OwnGateway.start(
    {
      rules: [
        {
          name: 'cached-configmaps',
          match: { verbs: ['list', 'watch'], resources: ['configmaps'] },
          share: 'watches+lists',
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

test('a LIST with resourceVersion=0 is answered from the watch cache with the apiserver bytes, through creates, updates and deletes', async () => {
  let rv = 0n;
  // Label keys "9" and "10": a JSON re-serialization in JavaScript would put "9" first, Go sorts "10" first.
  for (let i = 0; i < 6; i++)
    rv = await put(
      direct[i % 3],
      `cm-${i}`,
      { app: i % 2 ? 'web' : 'db', '10': 'x', '9': String(i) },
      `v${i}`,
    );
  assert.equal(await served(), 0);
  await sameList('resourceVersion=0', rv);
  await sameList('resourceVersion=0&limit=2', rv); // the watch cache ignores limit for resourceVersion=0
  await put(direct[1], 'cm-2', { app: 'web', tier: 'front' }, 'changed');
  await remove(direct[2], 'cm-3');
  rv = await put(direct[0], 'a-first', {}, 'sorted before cm-*');
  await sameList('resourceVersion=0', rv, 1);
  // A reflector's relist: not older than the version it had, unpaged; answered from the cache too.
  await sameList(`resourceVersion=${rv}`, rv, 2);
  await sameList(`resourceVersion=${rv}&resourceVersionMatch=NotOlderThan`, rv, 0);
  assert.equal(await metric('kubegate_shared_list_caches'), 1, 'one cache for the collection');
});

/** A GET in protobuf (client-go's protobuf clients send this Accept): status, content type, body. */
function getProtobuf(
  s: ClientHttp2Session,
  path: string,
): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = s.request({ ':path': path, accept: 'application/vnd.kubernetes.protobuf, */*' });
    const chunks: Buffer[] = [];
    let status = 0;
    let type = '';
    r.on('response', (h) => {
      status = Number(h[':status']);
      type = String(h['content-type']);
    });
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve({ status, type, body: Buffer.concat(chunks) }));
    r.on('error', reject);
  });
}

test('a protobuf LIST with resourceVersion=0 is answered from a protobuf cache with the apiserver bytes', async () => {
  await put(direct[0], 'pb-1', { app: 'web', '10': 'x', '9': 'y' }, 'one');
  let rv = await put(direct[1], 'pb-0', { app: 'db' }, 'zero');
  const caches = await metric('kubegate_shared_list_caches');
  // The cache is made by the first list; the changes after it reach it through its protobuf watch.
  const changes = async () => {
    await remove(direct[2], 'pb-0');
    await put(direct[1], 'pb-1', { app: 'web', tier: 'front' }, 'one changed');
    return put(direct[0], 'pb-2', {}, 'two');
  };
  for (const [query, change] of [
    ['resourceVersion=0', null],
    ['resourceVersion=0', changes],
    ['resourceVersion=0&labelSelector=app%3Dweb', null],
    ['resourceVersion=0&fieldSelector=metadata.name%3Dpb-2', null],
  ] as const) {
    if (change !== null) rv = await change();
    const path = `${collection}?${query}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const before = await served();
      const [g, d] = await Promise.all([getProtobuf(viaGateway, path), getProtobuf(direct[1], path)]);
      assert.equal(g.status, 200, g.body.toString());
      assert.equal(d.status, 200, d.body.toString());
      assert.equal(g.type, 'application/vnd.kubernetes.protobuf');
      assert.equal(g.type, d.type);
      const fromCache = (await served()) > before;
      const gl = parseProtobufList(g.body);
      const dl = parseProtobufList(d.body); // the apiserver's list is laid out as the gateway writes one
      if (fromCache && gl.rv! >= rv && dl.rv! >= rv) {
        assert.deepEqual(gl.typeMeta, dl.typeMeta);
        assert.deepEqual(gl.items, dl.items, `the items of ${query}, byte for byte`);
        assert.ok(gl.items.length > 0, `${query}: not an empty list`);
        break;
      }
      assert.ok(Date.now() < deadline, `${query} from the cache (forwarded: ${await forwardedReasons()})`);
      await sleep(200);
    }
  }
  assert.equal(
    await metric('kubegate_shared_list_caches'),
    caches + 1,
    'one protobuf cache beside the JSON one',
  );
});

test('label and field selectors select what the apiserver selects', async () => {
  const rv = await put(direct[0], 'sel', { app: 'web', tier: 'back' }, 'x');
  for (const q of [
    'labelSelector=app%3Dweb',
    'labelSelector=app%21%3Dweb',
    'labelSelector=app%3D%3Ddb',
    'labelSelector=tier%20in%20(front%2Cback)',
    'labelSelector=tier%20notin%20(front)',
    'labelSelector=%21tier',
    'labelSelector=tier',
    'labelSelector=app%3Dweb%2Ctier%3Dback',
    'fieldSelector=metadata.name%3Dsel',
    'fieldSelector=metadata.name%21%3Dsel',
    'fieldSelector=metadata.namespace%3D' + ns,
    'fieldSelector=metadata.name%3Dnone',
    'labelSelector=app%3Dweb&fieldSelector=metadata.name%21%3Dcm-1',
  ])
    await sameList(`resourceVersion=0&${q}`, rv);
});

test('what the cache cannot answer exactly is forwarded, and the client gets the apiserver answer', async () => {
  const rv = await put(direct[0], 'fwd', {}, 'x');
  const before = await served();
  for (const q of [
    'resourceVersion=abc',
    'resourceVersion=99999999999999999999999999',
    'resourceVersion=0&labelSelector=a%3D%3D%3Db',
    'resourceVersion=0&labelSelector=a%3E1x',
    'resourceVersion=0&fieldSelector=spec.x%3Dy',
    'resourceVersion=0&limit=abc',
    // Past every write: the apiserver waits for its cache, then answers 504 (too large).
    `resourceVersion=${rv + 1_000_000n}`,
  ]) {
    const { gw: g, direct: d } = await both(q, rv);
    assert.equal(g.status, d.status, q);
    assert.notEqual(g.status, 200, `${q} is refused by the apiserver`);
    // The 504 for a version past every write names the apiserver's current revision, which a
    // lease renewal (the controller manager's, the scheduler's) may move between the two requests.
    const current = (t: string) => t.replace(/current: \d+/, 'current: N');
    assert.equal(current(g.text), current(d.text), q);
  }
  assert.equal(await served(), before, 'none came from the cache');
  assert.ok((await metric('kubegate_shared_list_forwarded_total{reason="label_selector"}')) >= 2);
  assert.ok((await metric('kubegate_shared_list_forwarded_total{reason="resource_version"}')) >= 2);
  assert.ok((await metric('kubegate_shared_list_forwarded_total{reason="behind"}')) >= 1);
});

test('a client without RBAC gets the apiserver 403 though the cache holds the collection', async () => {
  const pki = join(devDir(), 'pki');
  const files = await issueCert(
    join(devDir(), 'users'),
    `list-nobody-${process.pid}`,
    { cert: join(pki, 'ca.crt'), key: join(pki, 'ca.key') },
    { cn: `list-nobody-${process.pid}`, usage: 'client' },
  );
  const nobodyGw = gw.session(gw.url, files);
  const nobodyDirect = connect(devState().apiservers[0], {
    ca: readFileSync(join(pki, 'ca.crt')),
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
  });
  try {
    for (const q of ['resourceVersion=0', 'resourceVersion=0&fieldSelector=metadata.name%3Dcm-1']) {
      const g = await request(nobodyGw, 'GET', `${collection}?${q}`);
      const d = await request(nobodyDirect, 'GET', `${collection}?${q}`);
      assert.equal(g.status, 403);
      assert.equal(d.status, 403);
      assert.equal(g.text, d.text, q);
    }
    assert.ok((await metric('kubegate_shared_list_events_total{result="refused"}')) >= 2);
  } finally {
    nobodyGw.close();
    nobodyDirect.close();
  }
});

/** A watch response, frame by frame. */
function watchLines(s: ClientHttp2Session, path: string): { lines: string[]; close: () => void } {
  const r = s.request({ ':path': path, accept: 'application/json' });
  const lines: string[] = [];
  let partial = '';
  r.setEncoding('utf8');
  r.on('error', () => {});
  r.on('data', (c: string) => {
    const parts = (partial + c).split('\n');
    partial = parts.pop()!;
    for (const p of parts) if (!p.startsWith('{"type":"BOOKMARK"')) lines.push(p);
  });
  return { lines, close: () => r.close() };
}

test('a watch from resourceVersion 0 gets the current state, then every change, as a direct one does', async () => {
  const rv = await put(direct[0], 'w0', { app: 'web' }, 'x');
  await sameList('resourceVersion=0', rv);
  for (const i of [1, 2]) await both('resourceVersion=0', rv, i); // each replica's cache has the write
  const n = (
    JSON.parse((await request(direct[0], 'GET', `${collection}?resourceVersion=0`)).text) as {
      items: unknown[];
    }
  ).items.length;
  const q = `${collection}?watch=true&resourceVersion=0`;
  const web = `${q}&labelSelector=app%3Dweb`;
  const g = [watchLines(viaGateway, q), watchLines(viaGateway, web)];
  const d = [watchLines(direct[1], q), watchLines(direct[2], web)];
  try {
    await until('the initial states came', () => g[0].lines.length >= n && d[0].lines.length >= n);
    const m = (
      JSON.parse(
        (await request(direct[0], 'GET', `${collection}?resourceVersion=0&labelSelector=app%3Dweb`)).text,
      ) as { items: unknown[] }
    ).items.length;
    await until('the selected initial states came', () => g[1].lines.length >= m && d[1].lines.length >= m);
    assert.deepEqual(g[0].lines, d[0].lines, 'the same ADDED frames, in the same order');
    assert.deepEqual(g[1].lines, d[1].lines);
    await put(direct[0], 'w0', { app: 'web' }, 'y');
    await put(direct[1], 'w1', { app: 'web' }, 'z');
    await remove(direct[2], 'w0');
    await until('the changes came', () =>
      [...g, ...d].every((w, i) => w.lines.length >= (i % 2 ? m : n) + 3),
    );
    assert.deepEqual(g[0].lines, d[0].lines);
    assert.deepEqual(g[1].lines, d[1].lines);
    assert.ok((await metric('kubegate_shared_list_events_total{result="initial_state"}')) >= 2);
  } finally {
    for (const w of [...g, ...d]) w.close();
  }
});

test('the apiserver under the cache killed: the cache resumes elsewhere and lists stay the apiserver lists', async (t) => {
  let killed = false;
  t.after(() => {
    if (killed) process.kill(devState().pids.kubegate, 'SIGHUP');
  });
  // The replica that serves the cache's watch: its audit log has it (the cache's user agent).
  let victim = -1;
  await until('an apiserver audited the watch cache watch', () => {
    for (let i = 0; i < devState().apiservers.length && victim < 0; i++) {
      const lines = jsonLines(join(devDir(), 'audit', `apiserver-${i}.log`));
      if (
        lines.some(
          (e) =>
            e.userAgent === 'kubegate (watch cache)' &&
            String(e.requestURI).startsWith(`${collection}?watch=true`),
        )
      )
        victim = i;
    }
    return victim >= 0;
  });
  const others = [0, 1, 2].filter((i) => i !== victim);
  const writer = direct[others[0]];
  let rv = 0n;
  for (let i = 0; i < 20; i++) {
    if (i === 5) {
      process.kill(devState().pids[`kube-apiserver-${victim}`], 'SIGKILL');
      killed = true;
    }
    rv = await put(writer, `kill-${i % 4}`, { round: String(i) }, String(i));
    await sleep(50);
  }
  process.kill(devState().pids.kubegate, 'SIGHUP');
  killed = false;
  await sameList('resourceVersion=0', rv, others[1]);
  await sameList('resourceVersion=0&labelSelector=round%3D19', rv, others[1]);
  t.diagnostic(
    `relisted ${await metric('kubegate_shared_list_events_total{result="relisted"}')}; ${await forwardedReasons()}`,
  );
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
  direct[victim].destroy();
  direct[victim] = adminH2(devState().apiservers[victim]);
});
