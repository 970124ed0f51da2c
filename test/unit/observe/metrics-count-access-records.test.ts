import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AccessRecord } from '../../../src/observe/access-log.ts';
import { BoundedLabel } from '../../../src/observe/bounded-label.ts';
import { GatewayMetrics, type MetricsOptions } from '../../../src/observe/metrics.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';
import type { GatewayErrorCode } from '../../../src/errors.ts';

function record(
  method: string,
  uri: string,
  fields: Partial<Omit<AccessRecord, 'info'>> & { user?: string } = {},
): AccessRecord {
  const { user, ...rest } = fields;
  return {
    method,
    uri,
    protocol: 'h2',
    client: '127.0.0.1',
    cluster: 'prod',
    info: parseRequestInfo(method, uri),
    identity: user === undefined ? null : { user, uid: '', groups: [], extra: {} },
    rule: 'default',
    upstream: 'apiserver-0',
    status: 200,
    bytesIn: 0,
    bytesOut: 10,
    durationMs: 12,
    auditID: null,
    error: null,
    code: null,
    retried: false,
    ...rest,
  };
}

function metrics(opts: MetricsOptions = {}): GatewayMetrics {
  return new GatewayMetrics(
    { clusters: () => [], listeners: () => [], configSources: () => [] },
    { processMetrics: false, ...opts },
  );
}

/** Sample lines of the exposition (no comments). */
async function samples(m: GatewayMetrics): Promise<string[]> {
  return (await m.text()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** The value of the one sample named `name` with exactly these labels. */
async function value(m: GatewayMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await m.registry.getSingleMetric(name)!.get();
  const keys = Object.keys(labels);
  const hits = metric.values.filter(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === name &&
      Object.keys(v.labels).length === keys.length &&
      keys.every((k) => String(v.labels[k]) === labels[k]),
  );
  assert.ok(hits.length <= 1, `${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits[0]?.value ?? 0;
}

test('a scripted set of access records gives exact counter values', async () => {
  const m = metrics();
  const pods = '/api/v1/namespaces/default/pods';
  for (let i = 0; i < 5; i++) m.observe(record('GET', pods));
  for (let i = 0; i < 2; i++)
    m.observe(record('GET', `${pods}/p1`, { upstream: 'apiserver-1', durationMs: 300 }));
  m.observe(record('POST', pods, { status: 201 }));
  m.observe(record('GET', `${pods}?watch=1`, { durationMs: 60_000 }));
  const deny = {
    rule: 'no-secrets',
    upstream: null,
    status: 403,
    code: 'KG_RULE_DENIED' as GatewayErrorCode,
  };
  for (let i = 0; i < 3; i++) m.observe(record('GET', '/api/v1/secrets', deny));
  const limited = { rule: 'ci', upstream: null, status: 429, code: 'KG_RATE_LIMITED' as GatewayErrorCode };
  for (let i = 0; i < 4; i++) m.observe(record('LIST', '/api/v1/configmaps', limited));
  m.observe(record('GET', '/api', { rule: null, upstream: null, status: 401, code: 'KG_UNAUTHENTICATED' }));
  m.observe(record('GET', '/version', { status: 502, code: 'KG_UPSTREAM_UNREACHABLE' }));

  const req = (verb: string, resource: string, code_class: string, rule: string, endpoint: string) => ({
    cluster: 'prod',
    verb,
    resource,
    code_class,
    rule,
    endpoint,
  });
  const total = 'kubegate_requests_total';
  assert.equal(await value(m, total, req('list', 'pods', '2xx', 'default', 'apiserver-0')), 5);
  assert.equal(await value(m, total, req('get', 'pods', '2xx', 'default', 'apiserver-1')), 2);
  assert.equal(await value(m, total, req('create', 'pods', '2xx', 'default', 'apiserver-0')), 1);
  assert.equal(await value(m, total, req('watch', 'pods', '2xx', 'default', 'apiserver-0')), 1);
  assert.equal(await value(m, total, req('list', 'secrets', '4xx', 'no-secrets', 'none')), 3);
  assert.equal(await value(m, total, req('other', 'configmaps', '4xx', 'ci', 'none')), 4);
  assert.equal(await value(m, total, req('get', '', '4xx', 'none', 'none')), 1);
  assert.equal(await value(m, total, req('get', '', '5xx', 'default', 'apiserver-0')), 1);

  const rej = 'kubegate_rejections_total';
  assert.equal(await value(m, rej, { cluster: 'prod', rule: 'no-secrets', reason: 'rule_denied' }), 3);
  assert.equal(await value(m, rej, { cluster: 'prod', rule: 'ci', reason: 'rate_limited' }), 4);
  assert.equal(await value(m, rej, { cluster: 'prod', rule: 'none', reason: 'unauthenticated' }), 1);
  // An upstream failure is not a rejection.
  assert.equal((await samples(m)).filter((l) => l.startsWith(rej)).length, 3);

  // Durations: short requests only (the watch is not in the histogram).
  const d = 'kubegate_request_duration_seconds';
  const lines = await samples(m);
  const watchLines = lines.filter((l) => l.startsWith(`${d}_count`) && l.includes('verb="watch"'));
  assert.deepEqual(watchLines, []);
  const get1 = lines.find(
    (l) => l.startsWith(`${d}_bucket`) && l.includes('endpoint="apiserver-1"') && l.includes('le="0.25"'),
  );
  assert.match(get1 ?? '', / 0$/);
  const get1b = lines.find(
    (l) => l.startsWith(`${d}_bucket`) && l.includes('endpoint="apiserver-1"') && l.includes('le="0.5"'),
  );
  assert.match(get1b ?? '', / 2$/);
});

test('per-user series only when enabled, capped at maxUsers', async () => {
  const off = metrics();
  off.observe(record('GET', '/api', { user: 'alice' }));
  assert.equal((await off.text()).includes('user_requests_total'), false);

  const on = metrics({ perUser: { enabled: true, maxUsers: 2 } });
  for (const user of ['alice', 'bob', 'carol', 'dave', 'alice']) on.observe(record('GET', '/api', { user }));
  const u = 'kubegate_user_requests_total';
  assert.equal(await value(on, u, { cluster: 'prod', user: 'alice' }), 2);
  assert.equal(await value(on, u, { cluster: 'prod', user: 'bob' }), 1);
  assert.equal(await value(on, u, { cluster: 'prod', user: 'other' }), 2);
});

test('10k distinct users and 10k distinct paths do not grow the series count beyond the caps', async () => {
  const m = metrics({ perUser: { enabled: true, maxUsers: 100 } });
  // Warm-up: the series a small, fixed mix makes.
  m.observe(record('GET', '/api/v1/namespaces/a/pods', { user: 'u' }));
  const before = (await samples(m)).length;
  const flood = (from: number) => {
    for (let i = from; i < from + 10_000; i++) {
      m.observe(record('GET', '/api/v1/namespaces/a/pods', { user: `user-${i}` }));
      m.observe(record('GET', `/api/v1/namespaces/ns-${i}/res-${i}/name-${i}`, { user: 'u' }));
      m.observe(record('GET', `/non/resource/${i}`, { user: 'u' }));
      m.observe(record(`M${i}`, `/apis/g${i}/v1/things-${i}`, { rule: `r-${i}`, upstream: `ep-${i}` }));
    }
  };
  flood(0);
  const mid = (await samples(m)).length;
  flood(10_000); // 10k more distinct users, paths, verbs, rules and endpoints: no new series
  const after = (await samples(m)).length;
  assert.equal(after, mid);
  const userLines = (await samples(m)).filter((l) => l.startsWith('kubegate_user_requests_total'));
  assert.equal(userLines.length, 101); // 100 users + other
  const requestLines = (await samples(m)).filter((l) => l.startsWith('kubegate_requests_total'));
  // resource: 256 distinct values + other; rule and endpoint likewise capped at 257 each.
  assert.ok(requestLines.length <= 257 * 3, `${requestLines.length} request series`);
  const histogramLines = (await samples(m)).filter((l) => l.startsWith('kubegate_request_duration_seconds'));
  assert.ok(histogramLines.length <= 257 * 3 * 16, `${histogramLines.length} histogram lines`);
  console.log(`series lines: ${before} before, ${mid} after 40k requests, ${after} after 40k more`);
  assert.ok(after < 15_000, `${after} lines`);
});

test('BoundedLabel keeps the first max values, then answers other; allow-lists admit only known values', () => {
  const l = new BoundedLabel(2);
  assert.deepEqual(
    ['a', 'b', 'c', 'a', 'd'].map((v) => l.value(v)),
    ['a', 'b', 'other', 'a', 'other'],
  );
  assert.equal(l.size, 2);
  const verbs = new BoundedLabel(0, ['get', 'list']);
  assert.deepEqual(
    ['get', 'LIST', 'list', 'x'].map((v) => verbs.value(v)),
    ['get', 'other', 'list', 'other'],
  );
  assert.throws(() => new BoundedLabel(-1), RangeError);
});
