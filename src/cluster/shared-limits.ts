import type { ClusterConfig } from '../config/model.ts';
import {
  allocateSharedLimit,
  limiterKinds,
  limitsKey,
  type LimiterKind,
  type SharedBufferOf,
} from './rule-policy.ts';

/**
 * The shared memory of every rule's limiters, by `sharedLimitKey`: allocated by the main thread and
 * posted with each configuration to every worker thread (a SharedArrayBuffer is shared, not copied).
 */
export type SharedLimits = ReadonlyMap<string, SharedArrayBuffer>;

/** What a rule's limiter is known by in every thread: cluster, rule (the default rule apart), kind, limits. */
export function sharedLimitKey(
  cluster: string,
  rule: string | null,
  kind: LimiterKind,
  limits: string,
): string {
  return JSON.stringify([cluster, rule, kind, limits]);
}

/** The lookup a cluster's rule policies use: `rule` null for the default rule. */
export function sharedBuffers(
  shared: SharedLimits | undefined,
  cluster: string,
  rule: string | null,
): SharedBufferOf | undefined {
  if (shared === undefined) return undefined;
  return (kind, limits) => shared.get(sharedLimitKey(cluster, rule, kind, limits));
}

/**
 * Assigns shared memory to the limiters of a configuration. A rule whose cluster, name and limits
 * did not change keeps its buffers, so its state (bucket levels, slots taken) survives a reload as
 * it does in a single thread; buffers no longer named are dropped (and freed once no worker's old
 * generation holds them).
 */
export class SharedLimitRegistry {
  #current = new Map<string, SharedArrayBuffer>();

  /**
   * `assign`, as the change since the previous assignment. Posting a map of a few thousand
   * SharedArrayBuffers costs ~10 ms per worker (each is registered anew on both sides); a reload
   * that changes a few rules now posts only theirs. Every worker must get every delta, in order.
   */
  assignDelta(clusters: Iterable<ClusterConfig>): SharedLimitsDelta {
    const before = this.#current;
    const next = this.assign(clusters);
    const added = new Map<string, SharedArrayBuffer>();
    for (const [key, buffer] of next) if (before.get(key) !== buffer) added.set(key, buffer);
    const removed: string[] = [];
    for (const key of before.keys()) if (!next.has(key)) removed.push(key);
    return { added, removed };
  }

  assign(clusters: Iterable<ClusterConfig>): SharedLimits {
    const next = new Map<string, SharedArrayBuffer>();
    for (const c of clusters) {
      const rules: [string | null, ClusterConfig['defaultRule']['limits']][] = c.rules.map((r) => [
        r.name,
        r.limits,
      ]);
      rules.push([null, c.defaultRule.limits]);
      for (const [name, limits] of rules) {
        const lk = limitsKey(limits);
        for (const kind of limiterKinds(limits)) {
          const key = sharedLimitKey(c.name, name, kind, lk);
          next.set(key, next.get(key) ?? this.#current.get(key) ?? allocateSharedLimit(limits, kind));
        }
      }
    }
    this.#current = next;
    return next;
  }
}

/** What changed in the shared memory of the limiters from one assignment to the next. */
export interface SharedLimitsDelta {
  readonly added: ReadonlyMap<string, SharedArrayBuffer>;
  readonly removed: readonly string[];
}

/** The limits after `delta`, as a new map (an older generation may still read the one it was built with). */
export function applySharedLimitsDelta(current: SharedLimits, delta: SharedLimitsDelta): SharedLimits {
  const next = new Map(current);
  for (const key of delta.removed) next.delete(key);
  for (const [key, buffer] of delta.added) next.set(key, buffer);
  return next;
}
