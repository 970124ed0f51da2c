import util from 'node:util';
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

/** One sample as prom-client's `get()` lists it (and `registry.getMetricsAsJSON()` sends). */
interface Sample {
  value: number;
  metricName?: string;
  exemplar?: null | undefined;
  labels: Record<string, string | number>;
}

/**
 * Counters and histograms fed once per request, kept as plain numbers: a series is found through
 * one Map per label keyed by the label values, so recording builds no key string and no object
 * once the series exists. The caller passes the label values in `labelNames` order in an array it
 * reuses. To prom-client's registry (text exposition, `getMetricsAsJSON`, and so
 * `AggregatorRegistry.aggregate`) these look exactly like its own Counter and Histogram, series in
 * the order they were first recorded.
 */
abstract class SeriesMetric<S extends { readonly labels: Labels }> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum';
  readonly #root = new Map<string, unknown>();
  /** Every series, in the order first recorded (a Set keeps insertion order). */
  protected readonly all = new Set<S>();

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    // Registry needs only name, get() and reset() of a metric; prom-client's types list its classes.
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract create(labels: Labels): S;

  /** The series of `values`, created at its first use. */
  protected series(values: readonly string[]): S {
    let node = this.#root;
    const last = this.labelNames.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]) as Map<string, unknown> | undefined;
      if (next === undefined) node.set(values[i], (next = new Map()));
      node = next;
    }
    let s = node.get(values[last]) as S | undefined;
    if (s === undefined) {
      const labels: Labels = {};
      for (let i = 0; i <= last; i++) labels[this.labelNames[i]] = values[i];
      node.set(values[last], (s = this.create(labels)));
      this.all.add(s);
    }
    return s;
  }

  /** Drops the series with these labels (extra labels, like a histogram's `le`, are ignored). */
  remove(labels: Partial<Record<string, string | number>>): void {
    const path: Map<string, unknown>[] = [this.#root];
    const keys = this.labelNames.map((n) => String(labels[n]));
    for (const k of keys.slice(0, -1)) {
      const next = path[path.length - 1].get(k) as Map<string, unknown> | undefined;
      if (next === undefined) return;
      path.push(next);
    }
    const s = path[path.length - 1].get(keys[keys.length - 1]) as S | undefined;
    if (s === undefined) return;
    this.all.delete(s);
    // Delete the leaf, then every Map left empty on the way up.
    for (let i = path.length - 1; i >= 0; i--) {
      path[i].delete(keys[i]);
      if (path[i].size > 0) break;
    }
  }

  reset(): void {
    this.#root.clear();
    this.all.clear();
  }
}

interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

/** A counter (prom-client `Counter`'s exposition) incremented per request. */
export class RequestCounter extends SeriesMetric<CounterSeries> {
  readonly type = 'counter';

  protected create(labels: Labels): CounterSeries {
    return { labels, value: 0 };
  }

  /** Adds 1 to the series of `values` (label values in `labelNames` order). */
  inc(values: readonly string[]): void {
    this.series(values).value++;
  }

  get(): Promise<{ help: string; name: string; type: 'counter'; values: Sample[]; aggregator: 'sum' }> {
    const values: Sample[] = [];
    for (const s of this.all) values.push({ value: s.value, labels: s.labels });
    const { help, name, type, aggregator } = this;
    return Promise.resolve({ help, name, type, values, aggregator });
  }
}

interface HistogramSeries {
  readonly labels: Labels;
  /** Observations per bucket, not cumulative; those above the last bound are only in `count`. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** A histogram (prom-client `Histogram`'s exposition) observed per request. */
export class RequestHistogram extends SeriesMetric<HistogramSeries> {
  readonly type = 'histogram';
  readonly upperBounds: readonly number[];

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: number[],
  ) {
    super(registry, name, help, labelNames);
    this.upperBounds = buckets;
  }

  protected create(labels: Labels): HistogramSeries {
    return { labels, buckets: this.upperBounds.map(() => 0), sum: 0, count: 0 };
  }

  /** Records `value` in the series of `values` (label values in `labelNames` order). */
  observe(values: readonly string[], value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${util.format(value)}`);
    const s = this.series(values);
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++)
      if (value <= bounds[i]) {
        s.buckets[i]++;
        break;
      }
    s.sum += value;
    s.count++;
  }

  /** prom-client's shape: per series, cumulative `_bucket`s by `le` (then +Inf), `_sum`, `_count`. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; values: Sample[]; aggregator: 'sum' }> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.all) {
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.buckets[i];
        values.push({ value: acc, metricName: bucket, exemplar: null, labels: { le, ...s.labels } });
      });
      values.push(
        { value: s.count, metricName: bucket, exemplar: null, labels: { le: '+Inf', ...s.labels } },
        { value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined, labels: { ...s.labels } },
        { value: s.count, metricName: `${this.name}_count`, exemplar: undefined, labels: { ...s.labels } },
      );
    }
    const { name, help, type, aggregator } = this;
    return Promise.resolve({ name, help, type, values, aggregator });
  }
}
