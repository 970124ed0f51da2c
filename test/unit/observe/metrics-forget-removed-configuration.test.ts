import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterRuntime } from '../../../src/cluster/runtime.ts';
import type { AccessRecord } from '../../../src/observe/access-log.ts';
import { GatewayMetrics, MAX_LABEL_VALUES } from '../../../src/observe/metrics.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';

// What removeGone keeps and drops, against clusters described by their names only (the gauges read
// live objects and are not scraped here). The whole path, reloads on worker threads, is
// test/unit/workers/reloads-with-renamed-rules-keep-metrics-flat.test.ts.

/** A cluster as liveNames reads it: its name, rules and endpoints. */
function cluster(name: string, rules: string[], endpoints: string[]): ClusterRuntime {
  return {
    name,
    routes: { rules: rules.map((r) => ({ name: r })), defaultRule: { name: 'default' } },
    upstream: { endpoints: endpoints.map((e) => ({ name: e })) },
  } as unknown as ClusterRuntime;
}

function record(
  cluster: string,
  rule: string | null,
  upstream: string | null,
  fields: Partial<AccessRecord> = {},
) {
  const uri = '/api/v1/namespaces/default/pods';
  return {
    method: 'GET',
    uri,
    protocol: 'h2',
    client: '127.0.0.1',
    cluster,
    info: parseRequestInfo('GET', uri),
    identity: { user: 'alice', uid: '', groups: [], extra: {} },
    rule,
    upstream,
    status: 200,
    bytesIn: 0,
    bytesOut: 10,
    durationMs: 12,
    auditID: null,
    error: null,
    code: null,
    retried: false,
    ...fields,
  } satisfies AccessRecord;
}

/** The label sets of `name`'s series ('le' and histogram suffixes aside), as sorted JSON lines. */
async function series(m: GatewayMetrics, name: string): Promise<string[]> {
  const { values } = await m.registry.getSingleMetric(name)!.get();
  const keys = values.map(({ labels }) => {
    const { le: _le, ...rest } = labels;
    return JSON.stringify(rest);
  });
  return [...new Set(keys)].sort();
}

test('series of a removed cluster, rule or endpoint go; live ones and `none` stay', async () => {
  let live = [cluster('prod', ['ci', 'no-secrets'], ['a', 'b']), cluster('staging', ['ci'], ['s'])];
  const m = new GatewayMetrics(
    { clusters: () => live, listeners: () => [], configSources: () => [] },
    { processMetrics: false, perUser: { enabled: true, maxUsers: 10 } },
  );
  m.observe(record('prod', 'ci', 'a'));
  m.observe(record('prod', 'ci', 'b'));
  m.observe(record('prod', 'no-secrets', null, { status: 403, code: 'KG_RULE_DENIED' }));
  m.observe(record('prod', null, null, { status: 401, code: 'KG_UNAUTHENTICATED' }));
  m.observe(record('staging', 'ci', 's'));
  m.queueWait('prod', 'ci', 5);
  m.queueWait('staging', 'ci', 5);

  // A reload: staging removed, prod's rule no-secrets renamed deny-secrets, endpoint b removed.
  live = [cluster('prod', ['ci', 'deny-secrets'], ['a'])];
  await m.removeGone();

  const req = (cluster: string, code_class: string, rule: string, endpoint: string) =>
    JSON.stringify({ cluster, verb: 'list', resource: 'pods', code_class, rule, endpoint });
  assert.deepEqual(
    await series(m, 'kubegate_requests_total'),
    [req('prod', '2xx', 'ci', 'a'), req('prod', '4xx', 'none', 'none')].sort(),
  );
  assert.deepEqual(
    await series(m, 'kubegate_request_duration_seconds'),
    await series(m, 'kubegate_requests_total'),
  );
  assert.deepEqual(await series(m, 'kubegate_rejections_total'), [
    JSON.stringify({ cluster: 'prod', rule: 'none', reason: 'unauthenticated' }),
  ]);
  assert.deepEqual(await series(m, 'kubegate_queue_wait_seconds'), [
    JSON.stringify({ cluster: 'prod', rule: 'ci' }),
  ]);
  assert.deepEqual(await series(m, 'kubegate_user_requests_total'), [
    JSON.stringify({ cluster: 'prod', user: 'alice' }),
  ]);
});

test('names removed free their places under the label caps; `other` stays', async () => {
  const names = (from: number) => Array.from({ length: MAX_LABEL_VALUES }, (_, i) => `r-${from + i}`);
  let live = [cluster('prod', [...names(0), 'past-the-cap'], ['a'])];
  const m = new GatewayMetrics(
    { clusters: () => live, listeners: () => [], configSources: () => [] },
    { processMetrics: false },
  );
  for (const r of [...names(0), 'past-the-cap']) m.observe(record('prod', r, 'a'));
  live = [cluster('prod', names(MAX_LABEL_VALUES), ['a'])];
  await m.removeGone();
  for (const r of names(MAX_LABEL_VALUES)) m.observe(record('prod', r, 'a'));
  const rules = (await series(m, 'kubegate_requests_total')).map(
    (s) => (JSON.parse(s) as { rule: string }).rule,
  );
  assert.deepEqual(
    rules.filter((r) => r !== 'other').sort(),
    names(MAX_LABEL_VALUES).sort(),
    'counted under their names',
  );
  assert.equal(rules.filter((r) => r === 'other').length, 1, 'what was counted as `other` is kept');
});
