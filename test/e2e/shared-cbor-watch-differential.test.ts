// CBOR watches shared (`share: watches`, docs/shared-watches.md) against the real apiservers, as
// shared-watch-differential.test.ts does for JSON and protobuf. kube-apiserver 1.37 serves CBOR
// with the CBORServingAndStorage gate (on in `kubegate dev`) and shuffles map keys on every
// encoding: two direct watches get the same bytes for an event only from the same replica, while
// it is live (the watch cache encodes it once for all its watchers). So the gateway here runs on
// one replica only, and its clients are compared byte for byte with a direct watch on that replica
// opened before the changes; a replay (a client joining later, a watch-list's initial events) is
// encoded anew by the apiserver, and is compared by decoded value.
import assert from 'node:assert/strict';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { after, before, beforeEach, test } from 'node:test';
import { CBORFrameReader } from '../../src/share/cbor-frames.ts';
import { decodeCBOR } from './cbor.ts';
import { adminH2, devState, kubectl } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';
import { metric, sharedWatches, until } from './watch-helpers.ts';

const ns = `share-cbor-${process.pid}`;
const group = `cbor-${process.pid}.kubegate.io`;
const CBOR = 'application/cbor';
/** The replica the gateway sends its watches to, and the one the direct watches compared with go to. */
const PINNED = 1;
let gw: OwnGateway;
let viaGateway: ClientHttp2Session;
const direct: ClientHttp2Session[] = [];

const collections = [
  {
    name: 'ConfigMaps',
    path: `/api/v1/namespaces/${ns}/configmaps`,
    make: (name: string, i: number) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, labels: { a: 'x', b: String(i) }, annotations: { note: `<${i}> é` } },
      data: { v: String(i), w: 'y' },
    }),
  },
  {
    name: 'a custom resource',
    path: `/apis/${group}/v1/namespaces/${ns}/widgets`,
    make: (name: string, i: number) => ({
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name, labels: { a: 'x', b: String(i) } },
      spec: { size: i, color: 'red', tags: ['b', 'a'] },
    }),
  },
];

/** One CBOR watch response, split into frames as it comes. */
class CBORWatch {
  readonly stream: ClientHttp2Stream;
  readonly frames: { kind: string; bytes: Buffer }[] = [];
  readonly head: Promise<string>;
  readonly #chunks: Buffer[] = [];
  readonly #reader = new CBORFrameReader(0n);

  constructor(s: ClientHttp2Session, path: string) {
    this.stream = s.request({ ':path': path, accept: CBOR });
    this.head = new Promise((resolve) => {
      this.stream.once('response', (h) => resolve(`${h[':status']} ${h['content-type']}`));
      this.stream.once('close', () => resolve('closed'));
    });
    this.stream.on('error', () => {});
    this.stream.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      this.#reader.push(c, (e) => this.frames.push({ kind: e.kind, bytes: e.bytes }));
    });
  }

  bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** Frames other than bookmarks. */
  events(): Buffer[] {
    return this.frames.filter((f) => f.kind !== 'bookmark').map((f) => f.bytes);
  }

  /** Where the watch-list's initial events end (its marked bookmark), or -1. */
  initialEnd(): number {
    return this.frames.findIndex(
      (f) => f.kind === 'bookmark' && f.bytes.includes('k8s.io/initial-events-end'),
    );
  }

  close(): void {
    this.stream.close();
  }
}

/** A frame decoded, byte strings (Go writes strings as them) as text, tag 55799 dropped. */
function value(frame: Buffer): unknown {
  const plain = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const m = /^h'([0-9a-f]*)'$/.exec(v);
      return m ? Buffer.from(m[1], 'hex').toString('utf8') : v;
    }
    if (Array.isArray(v)) return v.map(plain);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.tag === 55799 && 'value' in o) return plain(o.value);
      const entries = Object.entries(o).map(([k, x]) => [plain(k) as string, plain(x)] as const);
      return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  };
  return plain(decodeCBOR(frame));
}

const typeOf = (frame: Buffer) => (value(frame) as { type: string }).type;
const rvOf = (frame: Buffer) =>
  (value(frame) as { object: { metadata: { resourceVersion: string } } }).object.metadata.resourceVersion;

async function send(s: ClientHttp2Session, method: string, path: string, body?: unknown, type = 'json') {
  const headers = { 'content-type': `application/${type}` };
  const r = await h2request(s, path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.status === 200 || r.status === 201, `${method} ${path}: ${r.status} ${r.body}`);
  return r;
}

async function listRV(path: string): Promise<string> {
  const r = await send(direct[PINNED], 'GET', path);
  return (JSON.parse(r.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

/** Creates, changes and deletes objects through two replicas: 4 ADDED, 4 MODIFIED, 2 DELETED. */
async function changes(c: (typeof collections)[number], prefix: string): Promise<void> {
  for (let i = 0; i < 4; i++) await send(direct[0], 'POST', c.path, c.make(`${prefix}-${i}`, i));
  const patch = (i: number) => ({ metadata: { labels: { b: `changed-${i}` } } });
  for (let i = 0; i < 4; i++)
    await send(direct.at(-1)!, 'PATCH', `${c.path}/${prefix}-${i}`, patch(i), 'merge-patch+json');
  for (let i = 0; i < 2; i++) await send(direct[0], 'DELETE', `${c.path}/${prefix}-${i}`);
}

const watchPath = (path: string, rv: string, extra = '') =>
  `${path}?watch=true&resourceVersion=${rv}${extra}`;

before(async () => {
  const pinned = devState().apiservers[PINNED];
  gw = await OwnGateway.start(
    {
      endpoints: [{ name: `apiserver-${PINNED}`, url: pinned }],
      rules: [
        {
          name: 'shared-cbor',
          match: { verbs: ['watch'], resources: ['configmaps', 'widgets'] },
          share: 'watches',
        },
      ],
    },
    { admin: true },
  );
  await kubectl('apiserver-0.kubeconfig', ['create', 'namespace', ns]);
  viaGateway = gw.session();
  for (const url of devState().apiservers) direct.push(adminH2(url));
  await send(direct[0], 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    size: { type: 'integer' },
                    color: { type: 'string' },
                    tags: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      ],
    },
  });
  await until(
    'every apiserver serves the custom resource',
    async () =>
      (await Promise.all(direct.map((s) => h2request(s, collections[1].path)))).every(
        (r) => r.status === 200,
      ),
    60_000,
  );
});

after(async () => {
  viaGateway?.destroy();
  if (direct.length > 0)
    await h2request(direct[0], `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`, {
      method: 'DELETE',
    }).catch(() => null);
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

for (const c of collections) {
  test(`CBOR watches of ${c.name} share one upstream watch and each gets a direct CBOR watch's bytes`, async () => {
    const rv0 = await listRV(c.path);
    const d = new CBORWatch(direct[PINNED], watchPath(c.path, rv0));
    const elsewhere = new CBORWatch(direct[0], watchPath(c.path, rv0));
    const g = [
      new CBORWatch(viaGateway, watchPath(c.path, rv0)),
      new CBORWatch(viaGateway, watchPath(c.path, rv0, '&allowWatchBookmarks=true')),
      new CBORWatch(viaGateway, watchPath(c.path, rv0, '&timeoutSeconds=300')),
    ];
    const open = [d, elsewhere, ...g];
    try {
      const heads = await Promise.all(open.map((w) => w.head));
      assert.deepEqual(heads, Array(5).fill('200 application/cbor-seq'));
      assert.equal(
        await sharedWatches(gw, 'upstream'),
        1,
        'one upstream watch for three identical CBOR watches',
      );
      assert.equal(await sharedWatches(gw, 'client'), 3);
      const fannedOut = await metric(gw, 'kubegate_shared_watch_events_total{result="fanned_out"}');
      await changes(c, 'w');
      const n = 10;
      await until(
        'the direct watches saw every change',
        () => d.events().length >= n && elsewhere.events().length >= n,
      );
      await until('every shared client saw every change', () => g.every((w) => w.events().length >= n));
      assert.deepEqual(d.events().map(typeOf), [
        ...Array(4).fill('ADDED'),
        ...Array(4).fill('MODIFIED'),
        'DELETED',
        'DELETED',
      ]);
      for (const w of g) assert.deepEqual(w.events(), d.events(), 'the same frames, byte for byte');
      // Without bookmarks the whole bodies are the same.
      assert.ok(g[0].bytes().equals(d.bytes()) && g[2].bytes().equals(d.bytes()), 'the same body');
      assert.deepEqual(
        elsewhere.events().map(value),
        d.events().map(value),
        'another replica: the same values',
      );
      const fanned =
        (await metric(gw, 'kubegate_shared_watch_events_total{result="fanned_out"}')) - fannedOut;
      assert.ok(fanned >= 3 * n, `events fanned out: ${fanned}`);
      const sameBytesElsewhere = elsewhere.events().filter((f, i) => f.equals(d.events()[i])).length;
      console.log(
        `# ${c.name}: ${n} events; frames another replica encoded identically: ${sameBytesElsewhere}`,
      );

      // A client from the middle is served from the window: the upstream's bytes of what follows.
      // A direct watch from there gets them encoded anew: the same values.
      const mid = rvOf(d.events()[4]);
      const late = new CBORWatch(viaGateway, watchPath(c.path, mid));
      const lateDirect = new CBORWatch(direct[PINNED], watchPath(c.path, mid));
      open.push(late, lateDirect);
      assert.deepEqual(
        await Promise.all([late.head, lateDirect.head]),
        Array(2).fill('200 application/cbor-seq'),
      );
      await until(
        'the late watches got what follows',
        () => late.events().length >= 5 && lateDirect.events().length >= 5,
      );
      assert.deepEqual(late.events(), d.events().slice(5));
      assert.deepEqual(late.events().map(value), lateDirect.events().map(value));
      assert.equal(await sharedWatches(gw, 'upstream'), 1, 'the late client joined the same upstream watch');
    } finally {
      for (const w of open) w.close();
    }
    await until(
      'the upstream watch ends with its last client',
      async () => (await sharedWatches(gw, 'upstream')) === 0,
    );
  });
}

test("CBOR watch-lists share upstream ones: a direct watch-list's initial state, then its changes byte for byte", async () => {
  const c = collections[0];
  for (let i = 0; i < 3; i++) await send(direct[0], 'POST', c.path, c.make(`wl-${i}`, i));
  const q = 'sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan';
  const path = `${c.path}?watch=true&${q}`;
  const upstreamBefore = await metric(gw, 'kubegate_shared_watch_lists_total{result="upstream"}');
  const d = new CBORWatch(direct[PINNED], path);
  const g = Array.from({ length: 5 }, () => new CBORWatch(viaGateway, path));
  const open = [d, ...g];
  try {
    assert.deepEqual(
      new Set(await Promise.all(open.map((w) => w.head))),
      new Set(['200 application/cbor-seq']),
    );
    await until('every watch-list had its initial events', () => open.every((w) => w.initialEnd() >= 0));
    const initial = (w: CBORWatch) => w.frames.slice(0, w.initialEnd()).map((f) => value(f.bytes));
    assert.ok(initial(d).length >= 3, `the three, and what the earlier tests left: ${initial(d).length}`);
    for (const w of g) assert.deepEqual(initial(w), initial(d), 'the initial state, by value');
    const upstream =
      (await metric(gw, 'kubegate_shared_watch_lists_total{result="upstream"}')) - upstreamBefore;
    assert.ok(upstream >= 1 && upstream <= 2, `upstream watch-lists for five clients: ${upstream}`);
    await until(
      'one upstream watch left for the five',
      async () => (await sharedWatches(gw, 'upstream')) === 1,
    );
    const after = (w: CBORWatch) => w.events().slice(w.initialEnd());
    await send(direct.at(-1)!, 'PATCH', `${c.path}/wl-0`, { data: { v: 'changed' } }, 'merge-patch+json');
    await send(direct[0], 'DELETE', `${c.path}/wl-1`);
    await until('the direct watch-list saw both changes', () => after(d).length >= 2);
    await until('every shared one did', () => g.every((w) => after(w).length >= 2));
    assert.deepEqual(after(d).map(typeOf), ['MODIFIED', 'DELETED']);
    for (const w of g) assert.deepEqual(after(w), after(d), 'the changes byte for byte');
  } finally {
    for (const w of open) w.close();
  }
});
