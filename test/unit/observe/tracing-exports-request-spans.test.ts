import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from './tracing-gateway.ts';

// Tracing on, exporting to a local OTLP/HTTP receiver: a request's SERVER span continues the
// client's trace, the upstream call is its CLIENT child, and the apiserver is handed that child's
// context in `traceparent`.

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';
const SERVER = 2; // OTLP Span.SpanKind: SPAN_KIND_SERVER
const CLIENT = 3;
const ERROR = 2; // OTLP Status.StatusCode: STATUS_CODE_ERROR

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
  events?: { name: string; attributes?: OtlpAttribute[] }[];
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

let receiver: Server;
const exports: OtlpExport[] = [];
const contentTypes: string[] = [];
let gw: TestGateway;

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        contentTypes.push(String(req.headers['content-type']));
        exports.push(JSON.parse(Buffer.concat(chunks).toString()) as OtlpExport);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  // Before the gateway's modules load: tracing reads the environment once.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '20';
  process.env.OTEL_SERVICE_NAME = 'kubegate-under-test';
  delete process.env.OTEL_SDK_DISABLED;
  delete process.env.OTEL_TRACES_EXPORTER;
  delete process.env.OTEL_TRACES_SAMPLER;
  gw = await startGateway();
});

after(async () => {
  await gw?.stop();
  const { shutdownTracing } = await import('../../../src/observe/tracing.ts');
  await shutdownTracing();
  await new Promise((r) => receiver?.close(r));
});

function spans(): OtlpSpan[] {
  return exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
}

/** The spans of one trace, once `done` says all expected ones arrived (flushing meanwhile). */
async function traceOf(traceId: string, done: (s: OtlpSpan[]) => boolean): Promise<OtlpSpan[]> {
  const { tracer } = await import('../../../src/observe/tracing.ts');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = spans().filter((s) => s.traceId === traceId);
    if (done(found)) return found;
    if (Date.now() > deadline) assert.fail(`trace ${traceId}: only ${JSON.stringify(found)}`);
    await tracer?.flush();
    await new Promise((r) => setTimeout(r, 25));
  }
}

function attr(s: { attributes?: OtlpAttribute[] }, key: string): string | number | boolean | undefined {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  if (v === undefined) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}

test('one request: a SERVER span under the client span, the upstream call its CLIENT child, the apiserver given the same trace', async () => {
  const path = '/api/v1/namespaces/default/configmaps?limit=5';
  const status = await gw.get(path, {
    traceparent: `00-${TRACE_ID}-${CLIENT_SPAN_ID}-01`,
    tracestate: 'rojo=00f067aa0ba902b7',
  });
  assert.equal(status, 200);

  const found = await traceOf(
    TRACE_ID,
    (s) => s.some((x) => x.kind === SERVER) && s.some((x) => x.kind === CLIENT),
  );
  const server = found.find((s) => s.kind === SERVER)!;
  const client = found.find((s) => s.kind === CLIENT)!;
  assert.equal(found.length, 2, 'one server and one client span');

  assert.equal(server.parentSpanId, CLIENT_SPAN_ID, "the server span's parent is the client's span");
  assert.equal(server.name, 'list configmaps');
  assert.equal(attr(server, 'http.request.method'), 'GET');
  assert.equal(attr(server, 'url.path'), '/api/v1/namespaces/default/configmaps');
  assert.equal(attr(server, 'url.query'), 'limit=5');
  assert.equal(attr(server, 'kubegate.request.verb'), 'list');
  assert.equal(attr(server, 'kubegate.request.resource'), 'configmaps');
  assert.equal(attr(server, 'k8s.namespace.name'), 'default');
  assert.equal(attr(server, 'kubegate.cluster'), 'fake');
  assert.equal(attr(server, 'user.name'), 'alice');
  assert.equal(attr(server, 'kubegate.rule'), 'default');
  assert.equal(attr(server, 'kubegate.upstream.endpoint'), 'fake-apiserver');
  assert.equal(attr(server, 'http.response.status_code'), 200);
  assert.notEqual(server.status?.code, ERROR);
  assert.deepEqual(
    server.events?.map((e) => e.name),
    ['authenticated', 'routed', 'admitted', 'picked', 'response head'],
    'the pipeline stages, in order',
  );

  assert.equal(client.parentSpanId, server.spanId, 'the upstream call is a child of the server span');
  assert.equal(attr(client, 'http.request.method'), 'GET');
  assert.equal(attr(client, 'server.address'), '127.0.0.1');
  assert.equal(attr(client, 'http.response.status_code'), 200);
  assert.equal(attr(client, 'kubegate.upstream.endpoint'), 'fake-apiserver');

  const arrived = gw.arrivals.filter((a) => a.path === path);
  assert.equal(arrived.length, 1);
  assert.equal(
    arrived[0].headers.traceparent,
    `00-${TRACE_ID}-${client.spanId}-01`,
    "the apiserver continues from the gateway's client span",
  );
  assert.equal(arrived[0].headers.tracestate, 'rojo=00f067aa0ba902b7', 'tracestate is carried along');

  const resource = exports[0].resourceSpans[0].resource;
  assert.equal(attr(resource, 'service.name'), 'kubegate-under-test');
  assert.ok(
    contentTypes.every((t) => t.startsWith('application/json')),
    contentTypes.join(),
  );
});

test('a request the gateway refuses ends its span with status ERROR and the gateway error code', async () => {
  const traceId = 'aaaabbbbccccddddeeeeffff00001111';
  const status = await gw.get('/api/v1/namespaces/default/secrets', {
    traceparent: `00-${traceId}-${CLIENT_SPAN_ID}-01`,
  });
  assert.equal(status, 403);
  const [server] = await traceOf(traceId, (s) => s.length > 0);
  assert.equal(server.kind, SERVER);
  assert.equal(server.status?.code, ERROR);
  assert.match(server.status?.message ?? '', /^KG_RULE_DENIED: /);
  assert.equal(attr(server, 'kubegate.error.code'), 'KG_RULE_DENIED');
  assert.equal(attr(server, 'kubegate.rule'), 'no-secrets');
  assert.equal(attr(server, 'http.response.status_code'), 403);
  assert.deepEqual(
    server.events?.map((e) => e.name),
    ['authenticated', 'routed'],
  );
  assert.equal(gw.arrivals.filter((a) => a.path.includes('secrets')).length, 0);
});

test('without a client traceparent the gateway starts the trace and the apiserver continues it', async () => {
  const path = '/api/v1/namespaces/kube-system/pods/p1';
  assert.equal(await gw.get(path), 200);
  const arrived = gw.arrivals.find((a) => a.path === path)!;
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(arrived.headers.traceparent));
  assert.ok(m, `traceparent ${arrived.headers.traceparent}`);
  const found = await traceOf(m[1], (s) => s.length === 2);
  const server = found.find((s) => s.kind === SERVER)!;
  const client = found.find((s) => s.kind === CLIENT)!;
  assert.ok(!server.parentSpanId, 'a root span');
  assert.equal(server.name, 'get pods');
  assert.equal(client.spanId, m[2]);
  assert.equal(client.parentSpanId, server.spanId);
});

test('an upgrade is traced too, and its span ends when the tunnel closes', async () => {
  const traceId = '0123456789abcdef0123456789abcdef';
  const path = '/api/v1/namespaces/default/pods/p1/exec?command=sh&stdin=true';
  const tunnel = await gw.upgrade(path, { traceparent: `00-${traceId}-${CLIENT_SPAN_ID}-01` });
  tunnel.write('ping');
  const echo = await new Promise<string>((r) => tunnel.once('data', (d: Buffer) => r(d.toString())));
  assert.equal(echo, 'ping');
  const { tracer } = await import('../../../src/observe/tracing.ts');
  await tracer?.flush();
  assert.equal(
    spans().filter((s) => s.traceId === traceId && s.kind === SERVER).length,
    0,
    'no server span while the tunnel is open',
  );

  tunnel.destroy();
  const found = await traceOf(traceId, (s) => s.length === 2);
  const server = found.find((s) => s.kind === SERVER)!;
  const client = found.find((s) => s.kind === CLIENT)!;
  assert.equal(server.parentSpanId, CLIENT_SPAN_ID);
  assert.equal(server.name, 'get pods/exec');
  assert.equal(attr(server, 'http.response.status_code'), 101);
  assert.deepEqual(
    server.events?.map((e) => e.name),
    ['authenticated', 'routed', 'admitted', 'picked', 'response head'],
  );
  assert.equal(client.parentSpanId, server.spanId);
  assert.equal(attr(client, 'http.response.status_code'), 101);
  const arrived = gw.arrivals.filter((a) => a.path === path);
  assert.equal(arrived.length, 1);
  assert.equal(arrived[0].headers.traceparent, `00-${traceId}-${client.spanId}-01`);
});
