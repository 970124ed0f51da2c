import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { kubectl } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';

// A scripted mix through a gateway of our own (admin listener on): 12 lists that pass, 3 requests a
// deny rule answers 403, and 5 on a rule allowing one request per 100 s (1 passes, 4 get 429).
// Then /metrics must show exactly those numbers, /readyz 200, and /status.json the cluster.
let gw: OwnGateway;
const NS = 'metrics-e2e';

before(async () => {
  gw = await OwnGateway.start(
    {
      rules: [
        {
          name: 'no-secrets',
          match: { resources: ['secrets'] },
          action: 'deny',
          deny: { message: 'secrets are not for metrics tests' },
        },
        { name: 'slow-lane', match: { resources: ['services'] }, limits: { qps: 0.01, burst: 1 } },
      ],
    },
    { admin: true },
  );
});
after(() => gw.stop());

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

async function admin(path: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`${gw.adminURL}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

test('after a scripted mix of traffic, /metrics shows the expected values', async () => {
  const s = gw.session();
  try {
    const statuses = async (path: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await h2request(s, path)).status);
      return out;
    };
    assert.deepEqual(await statuses(`/api/v1/namespaces/${NS}/configmaps`, 12), Array(12).fill(200));
    assert.deepEqual(await statuses(`/api/v1/namespaces/${NS}/secrets`, 3), [403, 403, 403]);
    assert.deepEqual(
      await statuses(`/api/v1/namespaces/${NS}/services?limit=1`, 5),
      [200, 429, 429, 429, 429],
    );

    const m = await admin('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.type, /^text\/plain/);
    const all = parse(m.body);
    const req = 'kubegate_requests_total';
    const lists = { cluster: 'e2e', verb: 'list', code_class: '2xx' };
    assert.equal(sum(all, req, { ...lists, resource: 'configmaps', rule: 'default' }), 12);
    // Spread over the upstream endpoints, never "none" for relayed requests.
    assert.equal(sum(all, req, { ...lists, resource: 'configmaps', endpoint: 'none' }), 0);
    assert.equal(
      sum(all, req, { resource: 'secrets', code_class: '4xx', rule: 'no-secrets', endpoint: 'none' }),
      3,
    );
    assert.equal(sum(all, req, { resource: 'services', code_class: '2xx', rule: 'slow-lane' }), 1);
    assert.equal(sum(all, req, { resource: 'services', code_class: '4xx', rule: 'slow-lane' }), 4);

    const rej = 'kubegate_rejections_total';
    assert.equal(sum(all, rej, { cluster: 'e2e', rule: 'no-secrets', reason: 'rule_denied' }), 3);
    assert.equal(sum(all, rej, { cluster: 'e2e', rule: 'slow-lane', reason: 'rate_limited' }), 4);
    assert.equal(sum(all, rej), 7);

    const d = 'kubegate_request_duration_seconds_count';
    assert.equal(sum(all, d, { ...lists, resource: 'configmaps', rule: 'default' }), 12);

    assert.equal(sum(all, 'kubegate_upstream_healthy', { cluster: 'e2e' }), 3);
    assert.ok(sum(all, 'kubegate_upstream_sessions', { cluster: 'e2e' }) >= 1);
    assert.equal(sum(all, 'kubegate_circuit_breaker_state', { cluster: 'e2e', state: 'closed' }), 1);
    assert.equal(sum(all, 'kubegate_circuit_breaker_state', { cluster: 'e2e', state: 'open' }), 0);
    assert.ok(sum(all, 'kubegate_client_connections', { listener: 'main', protocol: 'h2' }) >= 1);
    assert.equal(sum(all, 'kubegate_queue_length', { cluster: 'e2e' }), 0);
    assert.equal(sum(all, 'kubegate_inflight_requests', { cluster: 'e2e', kind: 'short' }), 0);
    const info = all.filter((x) => x.name === 'kubegate_config_info' && x.labels.source === 'file');
    assert.equal(info.length, 1);
    assert.match(info[0].labels.hash, /^[0-9a-f]{64}$/);
    assert.equal(info[0].value, 1);
    assert.equal(sum(all, 'kubegate_config_reloads_total', { source: 'file', result: 'failure' }), 0);
    assert.ok(sum(all, 'kubegate_process_resident_memory_bytes') > 0);
  } finally {
    s.close();
  }
});

test('/readyz is 200 and /status.json lists the cluster with 3 healthy endpoints', async () => {
  const r = await admin('/readyz');
  assert.equal(r.status, 200, r.body);
  assert.equal((await admin('/healthz')).status, 200);
  const doc = JSON.parse((await admin('/status.json')).body) as {
    version: string;
    clusters: {
      name: string;
      origin: string;
      breaker: string;
      endpoints: { name: string; healthy: boolean; ratePerSecond: number; sessions: number }[];
      rules: { name: string; action: string; rejectionsTotal: number }[];
    }[];
    recentErrors: { status: number; code: string | null; path: string; rule: string | null }[];
  };
  assert.match(doc.version, /^[0-9a-f]{12}$/);
  const c = doc.clusters.find((x) => x.name === 'e2e');
  assert.ok(c, JSON.stringify(doc.clusters.map((x) => x.name)));
  assert.equal(c.origin, 'file');
  assert.equal(c.breaker, 'closed');
  assert.equal(c.endpoints.length, 3);
  assert.deepEqual(
    c.endpoints.map((e) => e.healthy),
    [true, true, true],
  );
  assert.ok(
    c.endpoints.some((e) => e.ratePerSecond > 0),
    `a rate over the last 10 s: ${JSON.stringify(c.endpoints)}`,
  );
  const rules = Object.fromEntries(c.rules.map((r) => [r.name, r]));
  assert.equal(rules['no-secrets'].action, 'deny');
  assert.equal(rules['no-secrets'].rejectionsTotal, 3);
  assert.equal(rules['slow-lane'].rejectionsTotal, 4);
  assert.equal(rules.default.action, 'proxy');
  const limited = doc.recentErrors.filter((e) => e.status === 429);
  assert.equal(limited.length, 4);
  assert.equal(limited[0].code, 'KG_RATE_LIMITED');
  assert.equal(limited[0].path, `/api/v1/namespaces/${NS}/services`, 'no query string');
});

test('bearer tokens: the first is a TokenReview cache miss, the next ones hits', async () => {
  const token = (
    await kubectl('apiserver-0.kubeconfig', [
      '-n',
      'default',
      'create',
      'token',
      'default',
      '--duration',
      '10m',
    ])
  ).trim();
  const s = gw.session(gw.url, 'none');
  try {
    for (let i = 0; i < 4; i++) {
      const r = await h2request(s, '/api', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200, r.body);
    }
  } finally {
    s.close();
  }
  const all = parse((await admin('/metrics')).body);
  assert.equal(sum(all, 'kubegate_token_review_cache_total', { cluster: 'e2e', result: 'miss' }), 1);
  assert.equal(sum(all, 'kubegate_token_review_cache_total', { cluster: 'e2e', result: 'hit' }), 3);
  assert.equal(
    sum(all, 'kubegate_requests_total', { verb: 'get', resource: '', rule: 'default', code_class: '2xx' }) >=
      4,
    true,
  );
});
