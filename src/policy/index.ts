export type { Now } from './clock.ts';
export {
  QueueAbortedError,
  QueueError,
  QueueFullError,
  QueueTimeoutError,
  type QueueErrorCode,
} from './errors.ts';
export { TokenBucket, Unlimited, type RateLimiter, type RateLimitOptions } from './rate-limiter.ts';
export { KeyedTokenBuckets, type KeyedRateLimitOptions } from './keyed-token-buckets.ts';
export { UnlimitedConcurrency, type ConcurrencyLimiter, type Permit } from './concurrency-limiter.ts';
export { InflightLimiter, type InflightLimiterOptions } from './inflight-limiter.ts';
export {
  ClosedBreaker,
  ManualBreaker,
  type BreakerState,
  type CircuitBreaker,
  type Outcome,
} from './circuit-breaker.ts';
export { AdaptiveBreaker, type AdaptiveBreakerOptions } from './adaptive-breaker.ts';
export { KeyedCap, type KeyedLimit } from './keyed-cap.ts';
export { allocateSharedKeyedCap, SharedKeyedCap } from './shared-keyed-cap.ts';
export { PenaltyBox, type Penalties } from './penalty-box.ts';
export { allocateSharedPenaltyBox, SharedPenaltyBox } from './shared-penalty-box.ts';
export { sharedNow } from './clock.ts';
export { SharedTokenBucket, type SharedRateLimitOptions } from './shared-token-bucket.ts';
export { SharedKeyedTokenBuckets, type SharedKeyedRateLimitOptions } from './shared-keyed-token-buckets.ts';
export { SharedInflightLimiter, type SharedInflightLimiterOptions } from './shared-inflight-limiter.ts';
