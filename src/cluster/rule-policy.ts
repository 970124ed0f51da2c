import {
  InflightLimiter,
  KeyedTokenBuckets,
  TokenBucket,
  UnlimitedConcurrency,
  Unlimited,
  type ConcurrencyLimiter,
  type RateLimiter,
} from '../policy/index.ts';
import type { RouteRule } from '../routing/index.ts';
import type { Limits } from '../config/schema/limits.ts';
import type { Upstream, UpstreamSubset } from '../upstream/upstream.ts';

const UNLIMITED_RATE = new Unlimited();
const DEFAULT_QUEUE_TIMEOUT_S = 5;
const DEFAULT_MAX_KEYS = 10_000;

/** The limiters of one rule; kept across reloads while the rule's name and limits stay the same. */
export class Limiters {
  readonly key: string;
  readonly rate: RateLimiter;
  /** What the rate limiter is keyed by, per request. */
  readonly perUser: 'none' | 'user' | 'serviceAccount';
  readonly readOnly: ConcurrencyLimiter;
  readonly mutating: ConcurrencyLimiter;
  readonly longRunning: ConcurrencyLimiter;

  constructor(limits: Limits | undefined, key = limitsKey(limits)) {
    const l = limits ?? {};
    this.key = key;
    const burst = l.burst ?? Math.max(1, Math.ceil(l.qps ?? 1));
    this.perUser = l.perUser ? (l.perUser.key ?? 'user') : 'none';
    this.rate =
      l.qps === undefined
        ? UNLIMITED_RATE
        : l.perUser
          ? new KeyedTokenBuckets({ qps: l.qps, burst, maxKeys: l.perUser.maxKeys ?? DEFAULT_MAX_KEYS })
          : new TokenBucket({ qps: l.qps, burst });
    const queue = (max: number | undefined): ConcurrencyLimiter =>
      max === undefined
        ? new UnlimitedConcurrency()
        : new InflightLimiter({
            maxInflight: max,
            queueLength: l.queue?.length ?? 0,
            queueTimeoutMs: (l.queue?.timeoutSeconds ?? DEFAULT_QUEUE_TIMEOUT_S) * 1000,
          });
    this.readOnly = queue(l.maxInflightReadOnly);
    this.mutating = queue(l.maxInflightMutating);
    // Long-running requests never queue: a watch that waits for a slot would only hold the client.
    this.longRunning =
      l.maxLongRunning === undefined
        ? new UnlimitedConcurrency()
        : new InflightLimiter({ maxInflight: l.maxLongRunning, queueLength: 0, queueTimeoutMs: 1 });
  }
}

/** What identifies a rule's limits across reloads (equal keys, equal limits). */
export function limitsKey(limits: Limits | undefined): string {
  return JSON.stringify(limits ?? {});
}

/** What the govern and pick stages need for one rule of one cluster generation. */
export class RulePolicy {
  readonly rule: RouteRule;
  readonly limiters: Limiters;
  /** Endpoints this rule may use; null = all of the cluster's. */
  readonly subset: UpstreamSubset | null;
  readonly exempt: boolean;

  constructor(rule: RouteRule, upstream: Upstream, previous: Limiters | undefined) {
    this.rule = rule;
    const spec = rule.spec;
    const key = limitsKey(spec.limits);
    this.limiters = previous && previous.key === key ? previous : new Limiters(spec.limits, key);
    this.subset = spec.upstream ? upstream.subset(spec.upstream) : null;
    this.exempt = spec.exempt === true;
  }
}
