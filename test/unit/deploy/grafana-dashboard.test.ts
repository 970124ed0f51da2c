import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './manifests.ts';

// The dashboard may only query the metrics kubegate exports (names fixed in issue 6).
const METRICS = new Set([
  'kubegate_requests_total',
  'kubegate_request_duration_seconds',
  'kubegate_inflight_requests',
  'kubegate_queue_length',
  'kubegate_queue_wait_seconds',
  'kubegate_rejections_total',
  'kubegate_circuit_breaker_state',
  'kubegate_upstream_healthy',
  'kubegate_upstream_sessions',
  'kubegate_upstream_active_streams',
  'kubegate_client_connections',
  'kubegate_token_review_cache_total',
  'kubegate_config_reloads_total',
  'kubegate_config_info',
]);
const HISTOGRAMS = new Set(['kubegate_request_duration_seconds', 'kubegate_queue_wait_seconds']);

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
]);
const KEYWORDS_WITHOUT_LIST = new Set(['bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr?: string; refId: string }[];
  panels?: Panel[];
}

const text = readFileSync(join(ROOT, 'deploy', 'grafana', 'kubegate-dashboard.json'), 'utf8');

function allPanels(list: Panel[]): Panel[] {
  return list.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers, ranges,
 * grouping lists, numbers, function calls and keywords are taken out. Anything else left is an
 * identifier PromQL would read as a metric name.
 */
function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const after = s.slice(m.index + word.length).trimStart();
    if (after.startsWith('(')) continue; // a function or aggregation
    if (KEYWORDS.has(word) || KEYWORDS_WITHOUT_LIST.has(word.toLowerCase())) continue;
    if (/^\d/.test(word) || /^[0-9.]+e/.test(word)) continue;
    names.push(word);
  }
  return names;
}

/** The exported metric a series name belongs to (`_bucket`, `_sum`, `_count` of a histogram). */
function family(name: string): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return HISTOGRAMS.has(base) ? base : name;
}

test('the dashboard is valid JSON with unique panel ids', () => {
  const d = JSON.parse(text) as { panels: Panel[]; uid: string; title: string };
  assert.ok(d.uid && d.title);
  const ids = allPanels(d.panels).map((p) => p.id);
  assert.ok(ids.every((id) => Number.isInteger(id)));
  assert.equal(new Set(ids).size, ids.length, 'unique ids');
});

test('every PromQL expression only uses the metrics kubegate exports, and each metric is charted', () => {
  const d = JSON.parse(text) as { panels: Panel[]; templating: { list: { definition?: string }[] } };
  const exprs = allPanels(d.panels).flatMap((p) =>
    (p.targets ?? []).map((t) => {
      assert.ok(t.expr, `${p.title} ${t.refId}: an expression`);
      return t.expr;
    }),
  );
  assert.ok(exprs.length >= 14);
  const used = new Set<string>();
  for (const expr of exprs) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `selects a metric: ${expr}`);
    for (const n of names) {
      assert.ok(METRICS.has(family(n)), `${n} in ${expr}`);
      if (n.endsWith('_bucket')) assert.ok(HISTOGRAMS.has(family(n)), n);
      else assert.ok(!HISTOGRAMS.has(n), `${n} is a histogram: query its _bucket, _sum or _count`);
      used.add(family(n));
    }
  }
  for (const v of d.templating.list)
    for (const m of (v.definition ?? '').matchAll(/label_values\((\w+)/g)) assert.ok(METRICS.has(m[1]), m[1]);
  assert.deepEqual(
    [...METRICS].filter((m) => !used.has(m)),
    [],
    'metrics no panel shows',
  );
});

test('the metric-name reader sees through functions, groupings, matchers and ranges', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (le, rule) (rate(kubegate_queue_wait_seconds_bucket{cluster=~"a|b"}[5m])))',
    ),
    ['kubegate_queue_wait_seconds_bucket'],
  );
  assert.deepEqual(metricNames('sum(up) / on (job) group_left count(node_cpu{mode="idle"}) > bool 1'), [
    'up',
    'node_cpu',
  ]);
  assert.deepEqual(metricNames('count by (source) (count by (source, hash) (kubegate_config_info))'), [
    'kubegate_config_info',
  ]);
});
