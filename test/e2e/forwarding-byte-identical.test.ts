import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeCBOR } from './cbor.ts';
import { adminH2, devDir, devState } from './env.ts';

// Bodies through the gateway are the apiserver's bytes, unchanged, in every encoding; and request
// bodies reach it whole. Reads are pinned (an unchanged object, or a list at an exact
// resourceVersion) so every replica must answer the same bytes: the gateway's answer is compared
// with each replica's, so it does not matter which one the balancer picked.
//
// CBOR is the exception: kube-apiserver 1.37 serves it only with the alpha feature gate
// CBORServingAndStorage (src/dev/flags.ts turns it on) and writes map keys in no fixed order, so two
// reads of the same object from the same replica differ in bytes. CBOR answers are compared by
// decoded value, and must be complete, well-formed CBOR documents.
const NS = `bytes-${process.pid}`;
const PREFIX = `/api/v1/namespaces/${NS}/configmaps`;
const COUNT = 300;
const ITEM_BYTES = 20_000;
const JSON_TYPE = 'application/json';
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const CBOR = 'application/cbor';
// kube-apiserver's limit on a write request's body (k8s.io/apiserver DefaultMaxRequestBodyBytes).
const MAX_BODY = 3 * 1024 * 1024;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function send(
  h2: ClientHttp2Session,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = h2.request({ ':method': method, ':path': path, ...headers });
    const chunks: Buffer[] = [];
    let got: IncomingHttpHeaders = {};
    s.setTimeout(60_000, () => s.close());
    s.on('response', (h) => (got = h));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve({ status: Number(got[':status']), headers: got, body: Buffer.concat(chunks) }));
    s.on('error', reject);
    s.end(body);
  });
}

const gw = adminH2();
const direct = devState().apiservers.map((url) => adminH2(url));
let listRV = '';

before(async () => {
  const created = await send(gw, 'POST', '/api/v1/namespaces', { 'content-type': JSON_TYPE }, json({ metadata: { name: NS } })); // prettier-ignore
  assert.equal(created.status, 201, created.body.toString());
  // ~20 KB of incompressible data each: a 6 MB list.
  for (let i = 0; i < COUNT; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, COUNT - i) }, async (_, j) => {
        const r = await send(gw, 'POST', PREFIX, { 'content-type': JSON_TYPE }, json({
          metadata: { name: `cm-${String(i + j).padStart(3, '0')}`, labels: { batch: String((i + j) % 7) } },
          data: { blob: randomBytes((ITEM_BYTES * 3) / 4).toString('base64') },
        })); // prettier-ignore
        assert.equal(r.status, 201, r.body.toString());
      }),
    );
  }
  const list = await send(gw, 'GET', `${PREFIX}?limit=1`, { accept: JSON_TYPE });
  listRV = (JSON.parse(list.body.toString()) as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
});

after(async () => {
  await send(gw, 'DELETE', `/api/v1/namespaces/${NS}`).catch(() => undefined);
  gw.close();
  for (const d of direct) d.close();
});

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

/** GETs `path` through the gateway and from every replica; asserts 200 and identical bytes. */
async function sameEverywhere(path: string, headers: Record<string, string>): Promise<Reply> {
  const via = await send(gw, 'GET', path, headers);
  assert.equal(via.status, 200, `${path}: ${via.body.toString().slice(0, 300)}`);
  for (const [i, d] of direct.entries()) {
    const straight = await send(d, 'GET', path, headers);
    assert.equal(straight.status, 200, `apiserver-${i} ${path}`);
    assert.equal(
      via.headers['content-type'],
      straight.headers['content-type'],
      `content-type, apiserver-${i}`,
    );
    assert.equal(via.headers['content-encoding'], straight.headers['content-encoding']);
    if (headers.accept === CBOR && !headers['accept-encoding']) {
      assert.deepEqual(decodeCBOR(via.body), decodeCBOR(straight.body), `${path} (CBOR), apiserver-${i}`);
      continue;
    }
    assert.ok(
      via.body.equals(straight.body),
      `${path} (${headers.accept}): ${via.body.length} bytes via the gateway, ${straight.body.length} from apiserver-${i}`,
    );
  }
  return via;
}

/** Whether two CBOR reads of `path` from the same replica differ in bytes (for the record). */
async function cborBytesVary(path: string): Promise<boolean> {
  const reads = await Promise.all([1, 2, 3].map(() => send(direct[0], 'GET', path, { accept: CBOR })));
  return reads.some((r) => !r.body.equals(reads[0].body));
}

test('GET of one object is byte-identical in JSON, protobuf and CBOR', async () => {
  const served: string[] = [];
  for (const accept of [JSON_TYPE, PROTOBUF, CBOR]) {
    const r = await sameEverywhere(`${PREFIX}/cm-007`, { accept });
    assert.equal(r.headers['content-type'], accept, `kube-apiserver serves ${accept}`);
    served.push(`${accept} ${r.body.length} B`);
  }
  assert.equal(served.length, 3);
  const vary = await cborBytesVary(`${PREFIX}/cm-007`);
  console.log(`# ${served.join(', ')}; CBOR bytes vary between reads of one replica: ${vary}`);
});

test('a 6 MB list pinned to a resourceVersion is byte-identical in JSON, protobuf, CBOR and gzip', async () => {
  const path = `${PREFIX}?resourceVersion=${listRV}&resourceVersionMatch=Exact`;
  const sizes: string[] = [];
  const variants: Record<string, string>[] = [
    { accept: JSON_TYPE },
    { accept: PROTOBUF },
    { accept: CBOR },
    { accept: JSON_TYPE, 'accept-encoding': 'gzip' },
  ];
  for (const headers of variants) {
    const t = performance.now();
    const r = await sameEverywhere(path, headers);
    sizes.push(`${Object.values(headers).join('+')} ${r.body.length} B (${(performance.now() - t).toFixed(0)} ms, 4 reads)`); // prettier-ignore
    if (headers.accept === JSON_TYPE && !('accept-encoding' in headers)) {
      const list = JSON.parse(r.body.toString()) as {
        items: { metadata: { name: string } }[];
        metadata: { resourceVersion: string };
      };
      // The controller-manager adds kube-root-ca.crt to every namespace.
      assert.equal(list.items.filter((i) => i.metadata.name.startsWith('cm-')).length, COUNT);
      assert.equal(list.metadata.resourceVersion, listRV);
      assert.ok(r.body.length > COUNT * ITEM_BYTES, `${r.body.length} bytes`);
    }
    if ('accept-encoding' in headers) assert.equal(r.headers['content-encoding'], 'gzip');
  }
  console.log(`# ${sizes.join('; ')}`);
});

test('a list walked with limit/continue is byte-identical page by page, to the end', async () => {
  for (const accept of [JSON_TYPE, PROTOBUF]) {
    let path = `${PREFIX}?limit=37&resourceVersion=${listRV}&resourceVersionMatch=Exact`;
    let pages = 0;
    for (;;) {
      const r = await sameEverywhere(path, { accept });
      pages++;
      // The continue token, from the JSON page (protobuf pages are walked with the JSON tokens).
      const page =
        accept === JSON_TYPE
          ? r
          : await send(gw, 'GET', path, { accept: JSON_TYPE }).then((x) => (assert.equal(x.status, 200), x));
      const meta = (JSON.parse(page.body.toString()) as { metadata: { continue?: string } }).metadata;
      if (!meta.continue) break;
      path = `${PREFIX}?limit=37&continue=${encodeURIComponent(meta.continue)}`;
      assert.ok(pages < 20, 'the walk ends');
    }
    assert.equal(pages, Math.ceil((COUNT + 1) / 37), `${accept}: pages (with kube-root-ca.crt)`);
  }
});

// Protobuf by hand: the envelope is "k8s\0" + runtime.Unknown{typeMeta, raw}; raw is a ConfigMap.
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
function field(no: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint((no << 3) | 2), varint(v.length), v]);
}
function protobufConfigMap(
  name: string,
  data: Record<string, string>,
  binary: Record<string, Buffer>,
): Buffer {
  const cm = Buffer.concat([
    field(1, field(1, name)), // metadata.name
    ...Object.entries(data).map(([k, v]) => field(2, Buffer.concat([field(1, k), field(2, v)]))),
    ...Object.entries(binary).map(([k, v]) => field(3, Buffer.concat([field(1, k), field(2, v)]))),
  ]);
  const unknown = Buffer.concat([
    field(1, Buffer.concat([field(1, 'v1'), field(2, 'ConfigMap')])),
    field(2, cm),
  ]);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

test('a create with a protobuf request body round-trips', async () => {
  const blob = randomBytes(256 * 1024);
  const body = protobufConfigMap('from-protobuf', { text: 'héllo ✓' }, { blob });
  const r = await send(gw, 'POST', PREFIX, { 'content-type': PROTOBUF, accept: PROTOBUF }, body);
  assert.equal(r.status, 201, r.body.toString());
  assert.equal(r.headers['content-type'], PROTOBUF);
  assert.ok(r.body.subarray(0, 4).equals(Buffer.from('k8s\0', 'latin1')));
  assert.ok(r.body.includes(blob), 'the created object carries the binary data');
  const back = await sameEverywhere(`${PREFIX}/from-protobuf`, { accept: JSON_TYPE });
  const cm = JSON.parse(back.body.toString()) as { data: Record<string, string>; binaryData: Record<string, string> }; // prettier-ignore
  assert.deepEqual(cm.data, { text: 'héllo ✓' });
  assert.ok(Buffer.from(cm.binaryData.blob, 'base64').equals(blob));
  const proto = await sameEverywhere(`${PREFIX}/from-protobuf`, { accept: PROTOBUF });
  assert.ok(proto.body.includes(blob));
  console.log(`# protobuf create: ${body.length} B request, ${r.body.length} B answer`);
});

/** A ConfigMap JSON body of exactly `size` bytes: `dataBytes` of data, the rest JSON whitespace. */
function paddedConfigMap(name: string, dataBytes: number, size: number): { body: Buffer; data: string } {
  const data = randomBytes((dataBytes * 3) / 4).toString('base64');
  const head = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { data } }).slice(0, -1)); // prettier-ignore
  assert.ok(head.length + 1 <= size);
  return { body: Buffer.concat([head, Buffer.alloc(size - head.length - 1, ' '), Buffer.from('}')]), data };
}

/** Writes `body` in 64 KiB chunks, each only once the stream has drained (back-pressure). */
async function writeChunks(w: NodeJS.WritableStream, body: Buffer): Promise<number> {
  let waits = 0;
  for (let i = 0; i < body.length; i += 64 * 1024) {
    if (!w.write(body.subarray(i, i + 64 * 1024))) {
      waits++;
      await new Promise((r) => w.once('drain', r));
    }
  }
  w.end();
  return waits;
}

function h2Upload(method: string, path: string, body: Buffer): Promise<Reply & { waits: number }> {
  return new Promise((resolve, reject) => {
    const s = gw.request({ ':method': method, ':path': path, 'content-type': JSON_TYPE });
    const chunks: Buffer[] = [];
    let got: IncomingHttpHeaders = {};
    let waits = 0;
    s.setTimeout(60_000, () => s.close());
    s.on('response', (h) => (got = h));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve({ status: Number(got[':status']), headers: got, body: Buffer.concat(chunks), waits })); // prettier-ignore
    s.on('error', reject);
    void writeChunks(s, body).then((n) => (waits = n));
  });
}

/** The same over HTTP/1.1 with `Transfer-Encoding: chunked` (no length known in advance). */
function h1Upload(method: string, path: string, body: Buffer): Promise<Reply & { waits: number }> {
  const d = devDir();
  const url = new URL(path, devState().gateway);
  return new Promise((resolve, reject) => {
    let waits = 0;
    const req = httpsRequest(url, {
      method,
      agent: false,
      ca: readFileSync(join(d, 'pki', 'ca.crt')),
      cert: readFileSync(join(d, 'pki', 'admin.crt')),
      key: readFileSync(join(d, 'pki', 'admin.key')),
      headers: { 'content-type': JSON_TYPE, 'transfer-encoding': 'chunked' },
      timeout: 60_000,
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), waits }),
      );
    });
    req.on('error', reject);
    void writeChunks(req, body).then((n) => (waits = n));
  });
}

test('a ~3 MiB request body streamed with back-pressure passes, over HTTP/2 (POST) and HTTP/1.1 chunked (PUT)', async () => {
  const size = MAX_BODY - 4096;
  const first = paddedConfigMap('big', 900_000, size);
  let t = performance.now();
  const created = await h2Upload('POST', PREFIX, first.body);
  const postMs = performance.now() - t;
  assert.equal(created.status, 201, created.body.toString().slice(0, 500));
  let stored = await send(gw, 'GET', `${PREFIX}/big`, { accept: JSON_TYPE });
  assert.equal((JSON.parse(stored.body.toString()) as { data: { data: string } }).data.data, first.data);

  const second = paddedConfigMap('big', 900_000, size);
  t = performance.now();
  const updated = await h1Upload('PUT', `${PREFIX}/big`, second.body);
  const putMs = performance.now() - t;
  assert.equal(updated.status, 200, updated.body.toString().slice(0, 500));
  stored = await send(gw, 'GET', `${PREFIX}/big`, { accept: JSON_TYPE });
  assert.equal((JSON.parse(stored.body.toString()) as { data: { data: string } }).data.data, second.data);
  console.log(
    `# ${size} B bodies: POST h2 ${postMs.toFixed(0)} ms (${created.waits} drain waits), ` +
      `PUT http/1.1 chunked ${putMs.toFixed(0)} ms (${updated.waits} drain waits)`,
  );
});

test('a body over the apiserver limit gets the apiserver own answer through the gateway', async () => {
  const over = paddedConfigMap('too-big', 1000, MAX_BODY + 64 * 1024).body;
  const via = await h2Upload('POST', PREFIX, over);
  const straight = await new Promise<Reply>((resolve, reject) => {
    const s = direct[0].request({ ':method': 'POST', ':path': PREFIX, 'content-type': JSON_TYPE });
    const chunks: Buffer[] = [];
    let got: IncomingHttpHeaders = {};
    s.on('response', (h) => (got = h));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve({ status: Number(got[':status']), headers: got, body: Buffer.concat(chunks) }));
    s.on('error', reject);
    void writeChunks(s, over);
  });
  assert.equal(straight.status, 413, straight.body.toString());
  assert.equal(via.status, straight.status);
  assert.equal(via.body.toString(), straight.body.toString());
});
