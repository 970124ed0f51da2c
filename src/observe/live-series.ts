import type { ClusterRuntime } from '../cluster/runtime.ts';
import { OTHER } from './bounded-label.ts';

/** The configured names series may carry: each live cluster's rules and endpoints. */
export type LiveNames = ReadonlyMap<string, { rules: ReadonlySet<string>; endpoints: ReadonlySet<string> }>;

/** Label values that name no configuration: kept whatever is configured. */
const UNNAMED = new Set([OTHER, 'none']);

/** The names of the clusters serving now, their rules (the default one too) and endpoints. */
export function liveNames(clusters: Iterable<ClusterRuntime>): LiveNames {
  const live = new Map<string, { rules: Set<string>; endpoints: Set<string> }>();
  for (const c of clusters)
    live.set(c.name, {
      rules: new Set([...c.routes.rules, c.routes.defaultRule].map((r) => r.name)),
      endpoints: new Set(c.upstream.endpoints.map((e) => e.name)),
    });
  return live;
}

type Labels = Partial<Record<string, string | number>>;

/** A counter or histogram whose series are fed from requests and kept until removed. */
export interface AccumulatedMetric {
  get(): Promise<{ values: readonly { labels: Labels }[] }>;
  remove(labels: Labels): void;
}

/**
 * True when a series counts a cluster, rule or endpoint no live cluster has. A label capped to
 * `other`, or `none`, names nothing and is kept; under cluster `other` a rule or endpoint is kept
 * while any live cluster has it.
 */
function gone(l: Labels, live: LiveNames): boolean {
  const named = (v: string | number | undefined): v is string | number =>
    v !== undefined && !UNNAMED.has(String(v));
  const of = named(l.cluster) ? live.get(String(l.cluster)) : undefined;
  if (named(l.cluster) && of === undefined) return true;
  const clusters = of === undefined ? [...live.values()] : [of];
  if (named(l.rule) && !clusters.some((c) => c.rules.has(String(l.rule)))) return true;
  return named(l.endpoint) && !clusters.some((c) => c.endpoints.has(String(l.endpoint)));
}

/**
 * Removes the series of `metric` that count what the configuration no longer has (a rule renamed
 * or removed, an endpoint or cluster gone), so a process reloaded for months exposes what it
 * serves, not everything it ever served.
 */
export async function removeGoneSeries(metric: AccumulatedMetric, live: LiveNames): Promise<void> {
  for (const { labels } of (await metric.get()).values) {
    if (!gone(labels, live)) continue;
    // A histogram lists each series once per bucket (with `le`) and for _sum and _count: removing
    // a series twice is harmless.
    const { le: _le, ...series } = labels;
    metric.remove(series);
  }
}
