import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { RequestCounter, RequestHistogram } from '../../../src/observe/request-series.ts';

// RequestCounter and RequestHistogram replace prom-client's Counter and Histogram on the request
// path: fed the same observations, side by side with prom-client's own, every output must match.

const LABELS = ['cluster', 'verb', 'rule'] as const;
const BUCKETS = [0.005, 0.01, 0.25, 1, 2.5, 60];

/** prom-client's metrics and ours, in one registry each, fed the same observations. */
class Pair {
  readonly theirs = new Registry();
  readonly ours = new Registry();
  readonly #counter = new Counter({
    name: 'x_total',
    help: 'Counted.',
    labelNames: LABELS,
    registers: [this.theirs],
  });
  readonly #histogram = new Histogram({
    name: 'x_seconds',
    help: 'Observed "quoted" \\ help.',
    labelNames: LABELS,
    buckets: BUCKETS,
    registers: [this.theirs],
  });
  readonly #ourCounter = new RequestCounter(this.ours, 'x_total', 'Counted.', LABELS);
  readonly #ourHistogram = new RequestHistogram(
    this.ours,
    'x_seconds',
    'Observed "quoted" \\ help.',
    LABELS,
    BUCKETS,
  );

  count(values: string[]): void {
    this.#counter.inc(labelsOf(values));
    this.#ourCounter.inc(values);
  }

  observe(values: string[], seconds: number): void {
    this.#histogram.observe(labelsOf(values), seconds);
    this.#ourHistogram.observe(values, seconds);
  }

  remove(values: string[]): void {
    for (const m of [this.#counter, this.#histogram, this.#ourCounter, this.#ourHistogram])
      m.remove(labelsOf(values));
  }
}

function labelsOf(values: string[]): Record<(typeof LABELS)[number], string> {
  return { cluster: values[0], verb: values[1], rule: values[2] };
}

/** A fixed pseudo-random mix of series (first seen in a scattered order) and durations. */
function feed(p: Pair, seed: number, n: number): void {
  let x = seed;
  const next = (m: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % m;
  };
  const durations = [0, 0.005, 0.0051, 0.01, 0.3, 1, 2.5, 7, 60, 61, 1234.5];
  for (let i = 0; i < n; i++) {
    const values = [['prod', 'staging', 'other'][next(3)], ['get', 'list', 'watch'][next(3)], `r-${next(4)}`];
    p.count(values);
    if (values[1] !== 'watch') p.observe(values, durations[next(durations.length)] + next(1000) / 1e6);
  }
  // Label values that need escaping in the text format.
  p.count(['a"b', 'c\\d', 'e\nf']);
  p.observe(['a"b', 'c\\d', 'e\nf'], 0.02);
}

test('the text exposition equals prom-client Counter and Histogram fed the same observations', async () => {
  const p = new Pair();
  feed(p, 7, 500);
  const theirs = await p.theirs.metrics();
  assert.ok(theirs.includes('x_seconds_bucket{le="+Inf",cluster="'), theirs.slice(0, 400));
  assert.equal(await p.ours.metrics(), theirs);
  assert.deepEqual(await p.ours.getMetricsAsJSON(), await p.theirs.getMetricsAsJSON());
  assert.equal(
    JSON.stringify(await p.ours.getMetricsAsJSON()),
    JSON.stringify(await p.theirs.getMetricsAsJSON()),
  );
});

test('removed series go from both, and come back last when counted again', async () => {
  const p = new Pair();
  feed(p, 11, 200);
  p.remove(['prod', 'get', 'r-1']);
  p.remove(['staging', 'list', 'r-3']);
  p.remove(['nowhere', 'get', 'r-1']); // never seen: nothing happens
  assert.equal(await p.ours.metrics(), await p.theirs.metrics());
  assert.doesNotMatch(await p.ours.metrics(), /cluster="prod",verb="get",rule="r-1"/);
  p.count(['prod', 'get', 'r-1']);
  p.observe(['prod', 'get', 'r-1'], 0.5);
  assert.match(await p.ours.metrics(), /cluster="prod",verb="get",rule="r-1"/);
  assert.equal(await p.ours.metrics(), await p.theirs.metrics());
  p.theirs.resetMetrics();
  p.ours.resetMetrics();
  feed(p, 3, 20);
  assert.equal(await p.ours.metrics(), await p.theirs.metrics());
});

test('two workers aggregated on the main thread give what prom-client aggregates', async () => {
  const [a, b] = [new Pair(), new Pair()];
  feed(a, 5, 300);
  feed(b, 9, 300);
  const aggregate = async (rs: Registry[]) =>
    AggregatorRegistry.aggregate(
      // Across a worker boundary the JSON is structured-cloned, as postMessage does.
      await Promise.all(rs.map(async (r) => structuredClone(await r.getMetricsAsJSON()))),
    ).metrics();
  const theirs = await aggregate([a.theirs, b.theirs]);
  assert.equal(await aggregate([a.ours, b.ours]), theirs);
  // Every sample (buckets, _sum, _count, counters) is the sum of the two workers' samples.
  const [inA, inB, summed] = [
    samples(await a.ours.metrics()),
    samples(await b.ours.metrics()),
    samples(theirs),
  ];
  assert.deepEqual([...summed.keys()].sort(), [...new Set([...inA.keys(), ...inB.keys()])].sort());
  for (const [series, v] of summed) assert.equal(v, (inA.get(series) ?? 0) + (inB.get(series) ?? 0), series);
  assert.equal(summed.get('x_total{cluster="a\\"b",verb="c\\\\d",rule="e\\nf"}'), 2);
});

/** The samples of a text exposition: series (name and labels) to value. */
function samples(text: string): Map<string, number> {
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
}
