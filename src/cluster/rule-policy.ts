import {
  InflightLimiter,
  KeyedTokenBuckets,
  SharedInflightLimiter,
  SharedKeyedTokenBuckets,
  SharedTokenBucket,
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

/** The limiters of a rule that keep state, each of which may live in shared memory. */
export type LimiterKind = 'rate' | 'readOnly' | 'mutating' | 'longRunning';

/** The shared buffer of one of a rule's limiters (the same in every worker thread), if shared. */
export type SharedBufferOf = (kind: LimiterKind, limitsKey: string) => SharedArrayBuffer | undefined;

/** The key a rule's limits are compared by across reloads. */
export function limitsKey(limits: Limits | undefined): string {
  return JSON.stringify(limits ?? {});
}

/** The kinds of a rule's limiters that keep state (the ones worker threads share). */
export function limiterKinds(limits: Limits | undefined): LimiterKind[] {
  const l = limits ?? {};
  const kinds: LimiterKind[] = [];
  if (l.qps !== undefined) kinds.push('rate');
  if (l.maxInflightReadOnly !== undefined) kinds.push('readOnly');
  if (l.maxInflightMutating !== undefined) kinds.push('mutating');
  if (l.maxLongRunning !== undefined) kinds.push('longRunning');
  return kinds;
}

/** New shared memory for one of a rule's limiters (the main thread allocates, every worker uses it). */
export function allocateSharedLimit(limits: Limits | undefined, kind: LimiterKind): SharedArrayBuffer {
  const perUser = limits?.perUser;
  if (kind !== 'rate') return new SharedArrayBuffer(SharedInflightLimiter.BYTES);
  return perUser
    ? SharedKeyedTokenBuckets.allocate(perUser.maxKeys ?? DEFAULT_MAX_KEYS)
    : new SharedArrayBuffer(SharedTokenBucket.BYTES);
}

/**
 * The limiters of one rule; kept across reloads while the rule's name and limits stay the same.
 * With `shared` (worker threads), each limiter whose buffer it gives counts in shared memory, so
 * every worker enforces one limit together.
 */
export class Limiters {
  readonly key: string;
  readonly rate: RateLimiter;
  /**
   * How long a request over the rate may wait for its token (`queue.waitForRate`); 0: refused at
   * once. At most `queue.length` tokens ahead, so at most that many requests wait.
   */
  readonly rateWaitMs: number;
  /** What the rate limiter is keyed by, per request. */
  readonly perUser: 'none' | 'user' | 'serviceAccount';
  readonly readOnly: ConcurrencyLimiter;
  readonly mutating: ConcurrencyLimiter;
  readonly longRunning: ConcurrencyLimiter;

  constructor(limits: Limits | undefined, key = limitsKey(limits), shared?: SharedBufferOf) {
    const l = limits ?? {};
    this.key = key;
    const buffer = (kind: LimiterKind) => shared?.(kind, key);
    const burst = l.burst ?? Math.max(1, Math.ceil(l.qps ?? 1));
    this.perUser = l.perUser ? (l.perUser.key ?? 'user') : 'none';
    this.rate = l.qps === undefined ? UNLIMITED_RATE : rateLimiter(l, l.qps, burst, buffer('rate'));
    const timeoutMs = (l.queue?.timeoutSeconds ?? DEFAULT_QUEUE_TIMEOUT_S) * 1000;
    this.rateWaitMs =
      l.qps === undefined || l.queue?.waitForRate !== true
        ? 0
        : Math.min(timeoutMs, (l.queue.length * 1000) / l.qps);
    const queue = (kind: LimiterKind, max: number | undefined): ConcurrencyLimiter =>
      max === undefined
        ? new UnlimitedConcurrency()
        : inflightLimiter(
            {
              maxInflight: max,
              queueLength: l.queue?.length ?? 0,
              queueTimeoutMs: (l.queue?.timeoutSeconds ?? DEFAULT_QUEUE_TIMEOUT_S) * 1000,
            },
            buffer(kind),
          );
    this.readOnly = queue('readOnly', l.maxInflightReadOnly);
    this.mutating = queue('mutating', l.maxInflightMutating);
    // Long-running requests never queue: a watch that waits for a slot would only hold the client.
    this.longRunning =
      l.maxLongRunning === undefined
        ? new UnlimitedConcurrency()
        : inflightLimiter(
            { maxInflight: l.maxLongRunning, queueLength: 0, queueTimeoutMs: 1 },
            buffer('longRunning'),
          );
  }
}

function rateLimiter(
  l: Limits,
  qps: number,
  burst: number,
  buffer: SharedArrayBuffer | undefined,
): RateLimiter {
  if (l.perUser) {
    const maxKeys = l.perUser.maxKeys ?? DEFAULT_MAX_KEYS;
    return buffer
      ? new SharedKeyedTokenBuckets({ qps, burst, maxKeys, buffer })
      : new KeyedTokenBuckets({ qps, burst, maxKeys });
  }
  return buffer ? new SharedTokenBucket({ qps, burst, buffer }) : new TokenBucket({ qps, burst });
}

function inflightLimiter(
  opts: { maxInflight: number; queueLength: number; queueTimeoutMs: number },
  buffer: SharedArrayBuffer | undefined,
): ConcurrencyLimiter {
  return buffer ? new SharedInflightLimiter({ ...opts, buffer }) : new InflightLimiter(opts);
}

/** What the govern and pick stages need for one rule of one cluster generation. */
export class RulePolicy {
  readonly rule: RouteRule;
  readonly limiters: Limiters;
  /** Endpoints this rule may use; null = all of the cluster's. */
  readonly subset: UpstreamSubset | null;
  readonly exempt: boolean;

  constructor(rule: RouteRule, upstream: Upstream, previous: Limiters | undefined, shared?: SharedBufferOf) {
    this.rule = rule;
    const spec = rule.spec;
    const key = limitsKey(spec.limits);
    this.limiters = previous && previous.key === key ? previous : new Limiters(spec.limits, key, shared);
    this.subset = spec.upstream ? upstream.subset(spec.upstream) : null;
    this.exempt = spec.exempt === true;
  }
}
