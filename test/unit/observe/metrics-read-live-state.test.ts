import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterRuntime } from '../../../src/cluster/runtime.ts';
import { GatewayMetrics } from '../../../src/observe/metrics.ts';

// Gauges of live state are read from the running objects at scrape time: a fake cluster with
// known endpoint, limiter, breaker and token-cache numbers must come out as exactly those values.
function fakeCluster(name: string, breaker: string): ClusterRuntime {
  const ep = (n: string, healthy: boolean, inflight: number, longRunning: number, sessions: number) => ({
    name: n,
    healthy,
    inflight,
    longRunning,
    pool: { size: sessions },
  });
  const limiters = (queuedRO: number, queuedMut: number) => ({
    readOnly: { queued: queuedRO, inflight: 0 },
    mutating: { queued: queuedMut, inflight: 0 },
    longRunning: { queued: 0, inflight: 0 },
  });
  const rules = [{ name: 'ci' }, { name: 'admins' }];
  const defaultRule = { name: 'default' };
  const byRule = new Map<unknown, unknown>([
    [rules[0], { limiters: limiters(3, 1) }],
    [rules[1], { limiters: limiters(0, 0) }],
    [defaultRule, { limiters: limiters(2, 0) }],
  ]);
  return {
    name,
    breaker: { state: breaker },
    upstream: { endpoints: [ep('a', true, 4, 10, 1), ep('b', false, 0, 0, 0), ep('c', true, 1, 2, 2)] },
    routes: { rules, defaultRule },
    policy: (r: unknown) => byRule.get(r),
    authenticator: { tokenReviewStats: () => ({ hits: 41, misses: 9 }) },
  } as unknown as ClusterRuntime;
}

test('live-state gauges and counters read at scrape time', async () => {
  const m = new GatewayMetrics(
    {
      clusters: () => [fakeCluster('prod', 'half-open')],
      listeners: () => [
        {
          name: 'main',
          connections: { h2: 7, 'http/1.1': 2 },
          refused: { perIPLimit: 3, handshakeTimeout: 1, rapidReset: 2, rapidResetPenalty: 4 },
        },
      ],
      configSources: () => [
        ['file', { reloads: 3, failures: 1, hash: 'f00d' }],
        ['kubegate.io', { reloads: 0, failures: 2, hash: '' }],
      ],
    },
    { processMetrics: false },
  );
  const lines = new Set((await m.text()).split('\n'));
  for (const expected of [
    'kubegate_inflight_requests{cluster="prod",kind="short"} 5',
    'kubegate_inflight_requests{cluster="prod",kind="long_running"} 12',
    'kubegate_queue_length{cluster="prod",rule="ci"} 4',
    'kubegate_queue_length{cluster="prod",rule="admins"} 0',
    'kubegate_queue_length{cluster="prod",rule="default"} 2',
    'kubegate_circuit_breaker_state{cluster="prod",state="closed"} 0',
    'kubegate_circuit_breaker_state{cluster="prod",state="open"} 0',
    'kubegate_circuit_breaker_state{cluster="prod",state="half-open"} 1',
    'kubegate_upstream_healthy{cluster="prod",endpoint="a"} 1',
    'kubegate_upstream_healthy{cluster="prod",endpoint="b"} 0',
    'kubegate_upstream_sessions{cluster="prod",endpoint="c"} 2',
    'kubegate_upstream_active_streams{cluster="prod",endpoint="a"} 14',
    'kubegate_client_connections{listener="main",protocol="h2"} 7',
    'kubegate_client_connections{listener="main",protocol="http/1.1"} 2',
    'kubegate_client_connections_refused_total{listener="main",reason="per_ip_limit"} 3',
    'kubegate_client_connections_refused_total{listener="main",reason="handshake_timeout"} 1',
    'kubegate_client_connections_refused_total{listener="main",reason="rapid_reset"} 2',
    'kubegate_token_review_cache_total{cluster="prod",result="hit"} 41',
    'kubegate_token_review_cache_total{cluster="prod",result="miss"} 9',
    'kubegate_config_reloads_total{source="file",result="success"} 3',
    'kubegate_config_reloads_total{source="file",result="failure"} 1',
    'kubegate_config_reloads_total{source="kubegate.io",result="failure"} 2',
    'kubegate_config_info{source="file",hash="f00d"} 1',
  ])
    assert.ok(lines.has(expected), `missing: ${expected}`);
  assert.equal(
    [...lines].filter((l) => l.startsWith('kubegate_config_info{')).length,
    1,
    'no info series for a source that serves nothing yet',
  );
  // A second scrape gives the same numbers (counters set from totals, not added up again).
  const again = new Set((await m.text()).split('\n'));
  assert.ok(again.has('kubegate_token_review_cache_total{cluster="prod",result="hit"} 41'));
  assert.ok(again.has('kubegate_config_reloads_total{source="file",result="success"} 3'));
  assert.ok(again.has('kubegate_client_connections_refused_total{listener="main",reason="per_ip_limit"} 3'));
});
