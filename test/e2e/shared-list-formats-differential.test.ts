// Cached lists in the other formats clients ask for (docs/shared-watches.md, "List formats"),
// against the real apiservers as shared-list-differential.test.ts does: a list through kubegate
// answered from its watch cache has the bytes of the same list sent straight to an apiserver
// (the list's own resourceVersion masked: each cache is at its own point). Metadata informers'
// PartialObjectMetadataList in JSON and protobuf, a custom resource's (unstructured) list and its
// metadata lists (the metadata rebuilt in ObjectMeta's order); Table lists are forwarded.
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseProtobufList } from '../../src/share/protobuf-items.ts';
import { adminH2, devState, kubectl } from './env.ts';
import { OwnGateway } from './own-gateway.ts';

const ns = `shared-formats-${process.pid}`;
const group = `e2e-${process.pid}.kubegate.io`;
const crd = `widgets.${group}`;
const configmaps = `/api/v1/namespaces/${ns}/configmaps`;
const widgets = `/apis/${group}/v1/namespaces/${ns}/widgets`;
const JSON_ACCEPT = 'application/json, */*';
const META_JSON = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';
// What client-go's metadata client (kube-controller-manager's metadata informers) sends.
const META_CLIENT_GO =
  'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,' +
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const TABLE =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
let gw: OwnGateway;
let viaGateway: ClientHttp2Session;
const direct: ClientHttp2Session[] = [];

interface Answer {
  status: number;
  type: string;
  body: Buffer;
}

function request(
  s: ClientHttp2Session,
  method: string,
  path: string,
  accept: string,
  body?: unknown,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = s.request(
      { ':method': method, ':path': path, 'content-type': 'application/json', accept },
      { endStream: body === undefined },
    );
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
const forwarded = (reason: string) => metric(`kubegate_shared_list_forwarded_total{reason="${reason}"}`);

/** Creates or replaces object `name` of `collection`; returns its resourceVersion. */
async function put(collection: string, obj: Record<string, unknown>, i = 0): Promise<bigint> {
  const meta = obj.metadata as { name: string; resourceVersion?: string };
  // Custom resources take no unconditional update: the update names the version it replaces.
  const old = await request(direct[i], 'GET', `${collection}/${meta.name}`, 'application/json');
  let r;
  if (old.status === 200) {
    meta.resourceVersion = (
      JSON.parse(old.body.toString()) as { metadata: { resourceVersion: string } }
    ).metadata.resourceVersion;
    r = await request(direct[i], 'PUT', `${collection}/${meta.name}`, 'application/json', obj);
  } else r = await request(direct[i], 'POST', collection, 'application/json', obj);
  assert.ok(r.status === 200 || r.status === 201, r.body.toString());
  return BigInt(
    (JSON.parse(r.body.toString()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
  );
}

const configMap = (name: string, labels: Record<string, string>, v: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels, annotations: { note: `<${v}> & "é"` } },
  data: { v },
});

const widget = (name: string, labels: Record<string, string>, size: number) => ({
  apiVersion: `${group}/v1`,
  kind: 'Widget',
  metadata: { name, namespace: ns, labels },
  spec: { size, color: 'red', tags: ['b', 'a'] },
});

async function remove(collection: string, name: string, i = 0): Promise<void> {
  const r = await request(direct[i], 'DELETE', `${collection}/${name}`, 'application/json');
  assert.equal(r.status, 200, r.body.toString());
}

/**
 * The list's own resourceVersion: a typed list (built-in, PartialObjectMetadataList) writes its
 * metadata first, an unstructured one (a custom resource's) last.
 */
function listRV(text: string): { rv: bigint; masked: string } {
  const rv = (JSON.parse(text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const member = `"resourceVersion":"${rv}"`;
  const at = text.startsWith('{"kind":') ? text.indexOf(member) : text.lastIndexOf(member);
  assert.ok(at > 0, text.slice(0, 200));
  return {
    rv: BigInt(rv),
    masked: text.slice(0, at) + '"resourceVersion":"…"' + text.slice(at + member.length),
  };
}

/**
 * The JSON list of `path` in `accept` through kubegate equals the direct one (apiserver `i`),
 * once both hold `rv`; `cached`: kubegate answered it from its cache (else it forwarded it).
 */
async function sameJSON(path: string, accept: string, rv: bigint, cached: boolean, i = 0): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const before = await served();
    const [g, d] = await Promise.all([
      request(viaGateway, 'GET', path, accept),
      request(direct[i], 'GET', path, accept),
    ]);
    const fromCache = (await served()) > before;
    assert.equal(g.status, 200, g.body.toString());
    assert.equal(d.status, 200, d.body.toString());
    const gl = listRV(g.body.toString());
    const dl = listRV(d.body.toString());
    if ((fromCache === cached && gl.rv >= rv && dl.rv >= rv) || Date.now() > deadline) {
      assert.equal(gl.masked, dl.masked, `the body of ${path} in ${accept}`);
      assert.equal(g.type, d.type, 'the Content-Type');
      assert.equal(fromCache, cached, `${path} in ${accept} answered from the cache: ${cached}`);
      return gl.masked;
    }
    await sleep(200);
  }
}

/**
 * The protobuf PartialObjectMetadataList of `path` (client-go's metadata `Accept`) from kubegate's
 * cache equals the direct one (apiserver `i`) once both hold `rv`: the same TypeMeta and items
 * byte for byte, and the whole answer when both are at the same version. Returns the items.
 */
async function sameProtobufMetadata(path: string, rv: bigint, i: number): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const before = await served();
    const [g, d] = await Promise.all([
      request(viaGateway, 'GET', path, META_CLIENT_GO),
      request(direct[i], 'GET', path, META_CLIENT_GO),
    ]);
    assert.equal(g.status, 200, g.body.toString());
    assert.equal(d.status, 200, d.body.toString());
    assert.equal(g.type, 'application/vnd.kubernetes.protobuf');
    assert.equal(g.type, d.type);
    const fromCache = (await served()) > before;
    const gl = parseProtobufList(g.body);
    const dl = parseProtobufList(d.body); // the apiserver's list is laid out as the gateway writes one
    if (fromCache && gl.rv! >= rv && dl.rv! >= rv) {
      assert.equal(dl.typeMeta.toString('latin1'), '\n\x0emeta.k8s.io/v1\x12\x19PartialObjectMetadataList');
      assert.deepEqual(gl.typeMeta, dl.typeMeta);
      assert.deepEqual(gl.items, dl.items, `the items of ${path}, byte for byte`);
      if (gl.rv === dl.rv) assert.deepEqual(g.body, d.body, 'the whole answer');
      return gl.items.length;
    }
    assert.ok(Date.now() < deadline, `${path} from the cache at ${rv}`);
    await sleep(200);
  }
}

before(async () => {
  gw = await OwnGateway.start(
    {
      rules: [
        {
          name: 'cached-lists',
          match: { verbs: ['list', 'watch'], resources: ['configmaps', 'widgets'] },
          share: 'watches+lists',
        },
      ],
    },
    { admin: true },
  );
  for (const url of devState().apiservers) direct.push(adminH2(url));
  viaGateway = gw.session();
  await kubectl('apiserver-0.kubeconfig', ['create', 'namespace', ns]);
  // The controller-manager adds kube-root-ca.crt a moment later (later still on a busy machine);
  // the lists below count it, so it must be there before their objects are written.
  await until(
    'the namespace has its kube-root-ca.crt',
    async () =>
      (await request(direct[0], 'GET', `${configmaps}/kube-root-ca.crt`, 'application/json')).status === 200,
    60_000,
  );
  const definition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crd },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
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
                status: { type: 'object', properties: { phase: { type: 'string' } } },
              },
            },
          },
          additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }],
        },
      ],
    },
  };
  const r = await request(
    direct[0],
    'POST',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    'application/json',
    definition,
  );
  assert.equal(r.status, 201, r.body.toString());
  // Every replica (and the gateway's way to them) serves the new resource.
  await until(
    'every apiserver serves the custom resource',
    async () =>
      (await Promise.all(direct.map((s) => request(s, 'GET', widgets, 'application/json')))).every(
        (a) => a.status === 200,
      ),
    60_000,
  );
});

after(async () => {
  viaGateway?.destroy();
  if (direct.length > 0)
    await request(
      direct[0],
      'DELETE',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`,
      'application/json',
    ).catch(() => null);
  for (const s of direct) s.destroy();
  await kubectl('apiserver-0.kubeconfig', ['delete', 'namespace', ns, '--wait=false']).catch(() => '');
  await gw?.stop();
});

test('a PartialObjectMetadataList in JSON is made from the cache with the apiserver bytes, through changes and selectors', async () => {
  let rv = 0n;
  // Label keys "9" and "10" (Go sorts "10" first), an annotation Go escapes (<, >, &).
  for (let i = 0; i < 4; i++)
    rv = await put(
      configmaps,
      configMap(`cm-${i}`, { app: i % 2 ? 'web' : 'db', '10': 'x', '9': String(i) }, `v${i}`),
      i % 3,
    );
  const first = await sameJSON(`${configmaps}?resourceVersion=0`, META_JSON, rv, true);
  assert.match(first, /^\{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io\/v1","metadata":\{/);
  // The four and the namespace's kube-root-ca.crt.
  assert.equal((JSON.parse(first.replace('"…"', '"0"')) as { items: unknown[] }).items.length, 5);
  await put(configmaps, configMap('cm-1', { app: 'web', tier: 'front' }, 'changed'), 1);
  await remove(configmaps, 'cm-2', 2);
  rv = await put(configmaps, configMap('a-first', {}, 'sorted first'), 0);
  for (const q of [
    'resourceVersion=0',
    'resourceVersion=0&limit=1',
    'resourceVersion=0&labelSelector=app%3Dweb',
    'resourceVersion=0&fieldSelector=metadata.name%3Da-first',
    'resourceVersion=0&labelSelector=none%3D1', // no items
    `resourceVersion=${rv}`,
  ])
    await sameJSON(`${configmaps}?${q}`, `${META_JSON}, application/json`, rv, true, 1);
  // The objects' own list is still the objects' (the two forms share the cache, not the bodies).
  await sameJSON(`${configmaps}?resourceVersion=0`, JSON_ACCEPT, rv, true, 2);
});

test('a protobuf PartialObjectMetadataList is made from the protobuf cache with the apiserver bytes', async () => {
  let rv = await put(configmaps, configMap('pb-1', { app: 'web' }, 'one'), 0);
  const changes = async () => {
    await remove(configmaps, 'pb-1', 1);
    return put(configmaps, configMap('pb-2', { app: 'web', '10': 'x', '9': 'y' }, 'two'), 2);
  };
  for (const [query, change] of [
    ['resourceVersion=0', null],
    ['resourceVersion=0', changes],
    ['resourceVersion=0&labelSelector=app%3Dweb', null],
    ['resourceVersion=0&labelSelector=none%3D1', null],
  ] as const) {
    if (change !== null) rv = await change();
    const items = await sameProtobufMetadata(`${configmaps}?${query}`, rv, 1);
    if (!query.includes('none')) assert.ok(items > 0, `${query}: not an empty list`);
  }
});

test('a custom resource list is answered from the cache with the apiserver bytes (unstructured layout)', async () => {
  let rv = 0n;
  for (let i = 0; i < 3; i++)
    rv = await put(widgets, widget(`w-${i}`, { b: String(i), a: i ? 'x' : 'y' }, i), i);
  const first = await sameJSON(`${widgets}?resourceVersion=0`, JSON_ACCEPT, rv, true);
  assert.match(first, /^\{"apiVersion":"[^"]+","items":\[\{"apiVersion":/);
  await put(widgets, widget('w-1', { b: 'changed' }, 10), 1);
  await remove(widgets, 'w-2', 2);
  rv = await put(widgets, widget('a-first', {}, 0), 0);
  for (const q of [
    'resourceVersion=0',
    'resourceVersion=0&limit=1',
    'resourceVersion=0&labelSelector=a%3Dy',
    'resourceVersion=0&fieldSelector=metadata.name%21%3Dw-0',
    'resourceVersion=0&labelSelector=none%3D1',
    `resourceVersion=${rv}`,
  ])
    await sameJSON(`${widgets}?${q}`, JSON_ACCEPT, rv, true, 1);
  // A protobuf client: custom resources have no protobuf, the apiserver (and the cache) answer JSON.
  await sameJSON(
    `${widgets}?resourceVersion=0`,
    'application/vnd.kubernetes.protobuf, application/json',
    rv,
    true,
    2,
  );
});

test('a watch of a custom resource from resourceVersion 0 starts with the direct watch ADDED frames', async () => {
  const rv = await put(widgets, widget('watched', { b: 'w' }, 1), 0);
  await sameJSON(`${widgets}?resourceVersion=0`, JSON_ACCEPT, rv, true, 1);
  const n = (
    JSON.parse(
      (await request(direct[1], 'GET', `${widgets}?resourceVersion=0`, 'application/json')).body.toString(),
    ) as { items: unknown[] }
  ).items.length;
  const lines = (s: ClientHttp2Session) => {
    const r = s.request({ ':path': `${widgets}?watch=true&resourceVersion=0`, accept: 'application/json' });
    const out: string[] = [];
    let partial = '';
    r.setEncoding('utf8');
    r.on('error', () => {});
    r.on('data', (c: string) => {
      const parts = (partial + c).split('\n');
      partial = parts.pop()!;
      for (const p of parts) if (!p.startsWith('{"type":"BOOKMARK"')) out.push(p);
    });
    return { out, close: () => r.close() };
  };
  const initial = await metric('kubegate_shared_list_events_total{result="initial_state"}');
  const g = lines(viaGateway);
  const d = lines(direct[1]);
  try {
    await until('the initial states came', () => g.out.length >= n && d.out.length >= n);
    assert.deepEqual(g.out.slice(0, n), d.out.slice(0, n), 'the same ADDED frames, in the same order');
    assert.ok((await metric('kubegate_shared_list_events_total{result="initial_state"}')) > initial);
  } finally {
    g.close();
    d.close();
  }
});

test("a custom resource's PartialObjectMetadataList, JSON and protobuf, is rebuilt from the cache as the apiserver's, through changes", async () => {
  const uid = async (name: string) => {
    await put(configmaps, configMap(name, {}, name), 0);
    const r = await request(direct[0], 'GET', `${configmaps}/${name}`, 'application/json');
    return (JSON.parse(r.body.toString()) as { metadata: { uid: string } }).metadata.uid;
  };
  const owners = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'owner-a',
      uid: await uid('owner-a'),
      controller: true,
      blockOwnerDeletion: true,
    },
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner-b', uid: await uid('owner-b'), controller: false },
  ];
  // Escaped by Go (<, >, &, U+2028, U+2029, a control character, quotes, a backslash) and not (é, ☃).
  const odd = 'a<b>&c\u2028d\u2029é"q"\\ ☃ \u0001';
  const full = (labels: Record<string, string>) => ({
    apiVersion: `${group}/v1`,
    kind: 'Widget',
    metadata: {
      name: 'meta-full',
      namespace: ns,
      labels: { app: 'meta', '10': 'x', '9': 'y', ...labels },
      annotations: { note: odd, 'z.example.com/empty': '', 'a.example.com/json': '{"k":[1,2]}' },
      ownerReferences: owners,
      finalizers: ['example.com/keep', 'example.com/second'],
    },
    spec: { size: 1, color: 'red', tags: ['b', 'a'] },
  });
  const created = await request(
    direct[0],
    'POST',
    `${widgets}?fieldManager=creator`,
    'application/json',
    full({}),
  );
  assert.equal(created.status, 201, created.body.toString());
  // Two more managers: a server-side apply, and the status subresource.
  const applied = await new Promise<number>((resolve, reject) => {
    const r = direct[1].request(
      {
        ':method': 'PATCH',
        ':path': `${widgets}/meta-full?fieldManager=applier&force=true`,
        'content-type': 'application/apply-patch+yaml',
      },
      {},
    );
    r.on('response', (h) => resolve(Number(h[':status'])));
    r.on('error', reject);
    r.resume();
    r.end(
      JSON.stringify({
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: {
          name: 'meta-full',
          labels: { applied: 'yes' },
          annotations: { 'applied.example.com/x': '<&>' },
        },
        spec: { color: 'blue' },
      }),
    );
  });
  assert.equal(applied, 200);
  const current = JSON.parse(
    (await request(direct[0], 'GET', `${widgets}/meta-full`, 'application/json')).body.toString(),
  ) as Record<string, unknown>;
  const status = await request(
    direct[2 % direct.length],
    'PUT',
    `${widgets}/meta-full/status?fieldManager=status-writer`,
    'application/json',
    { ...current, status: { phase: 'Ready<1>' } },
  );
  assert.equal(status.status, 200, status.body.toString());
  const generated = await request(direct[0], 'POST', widgets, 'application/json', {
    apiVersion: `${group}/v1`,
    kind: 'Widget',
    metadata: { generateName: 'meta-gen-', labels: { app: 'meta' } },
  });
  assert.equal(generated.status, 201, generated.body.toString());
  const generatedName = (JSON.parse(generated.body.toString()) as { metadata: { name: string } }).metadata
    .name;
  // Being deleted: a finalizer holds it, with a deletionTimestamp.
  const going = (finalizers: string[]) => ({
    ...widget('meta-going', { app: 'meta' }, 2),
    metadata: { name: 'meta-going', namespace: ns, labels: { app: 'meta' }, finalizers },
  });
  await put(widgets, going(['example.com/hold']));
  await remove(widgets, 'meta-going', 1);
  let rv = await put(widgets, widget('meta-bare', {}, 0), 2);
  const queries = [
    'resourceVersion=0',
    'resourceVersion=0&labelSelector=app%3Dmeta',
    'resourceVersion=0&fieldSelector=metadata.name%3Dmeta-full',
    'resourceVersion=0&labelSelector=none%3D1',
  ];
  const same = async () => {
    const all: string[] = [];
    for (const [i, q] of queries.entries()) {
      all.push(await sameJSON(`${widgets}?${q}`, META_JSON, rv, true, i % direct.length));
      await sameProtobufMetadata(`${widgets}?${q}`, rv, (i + 1) % direct.length);
    }
    return all[0];
  };
  const first = await same();
  assert.match(first, /"name":"meta-going",.*"deletionTimestamp":"[^"]+","deletionGracePeriodSeconds":0,/);
  assert.match(first, /"manager":"applier","operation":"Apply",/);
  assert.match(first, /"generateName":"meta-gen-"/);
  // Changes: new labels (an update by another manager), the held one let go (so deleted), the
  // generated one deleted.
  await put(widgets, full({ tier: 'changed' }), 1);
  await put(widgets, going([]), 2);
  await remove(widgets, generatedName, 0);
  rv = await put(widgets, widget('meta-bare', { app: 'meta' }, 1), 0);
  const changed = await same();
  assert.doesNotMatch(changed, /meta-going|meta-gen-/);
  assert.match(changed, /"tier":"changed"/);
  // The finalizers go, so the namespace and the definition can be deleted.
  await put(widgets, { ...full({}), metadata: { ...full({}).metadata, finalizers: [] } }, 0);
});

test('Table lists are forwarded, with their reason', async () => {
  await put(widgets, widget('tabled', {}, 3), 0);
  await put(configmaps, configMap('tabled', {}, 't'), 0);
  const before = await served();
  const tables = await forwarded('table');
  for (const collection of [configmaps, widgets]) {
    const g = await request(viaGateway, 'GET', `${collection}?resourceVersion=0`, TABLE);
    const d = await request(direct[0], 'GET', `${collection}?resourceVersion=0`, TABLE);
    assert.equal(g.status, 200, g.body.toString());
    assert.equal(g.type, d.type);
    const t = JSON.parse(g.body.toString()) as { kind: string; columnDefinitions: { name: string }[] };
    assert.equal(t.kind, 'Table');
    assert.deepEqual(
      t.columnDefinitions,
      (JSON.parse(d.body.toString()) as { columnDefinitions: unknown }).columnDefinitions,
    );
  }
  assert.equal(await forwarded('table'), tables + 2);
  assert.equal(await served(), before, 'none of them came from the cache');
});
