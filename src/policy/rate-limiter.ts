import { monotonicNow, type Now } from './clock.ts';
import { validatePositive } from './validate.ts';

/** Decides whether a request may go now, or after a short wait. */
export interface RateLimiter {
  /** 0 when the request for `key` may go now (and is charged), else the whole milliseconds until it may. */
  take(key: string): number;
  /**
   * Like `take`, but a request whose token comes within `maxWaitMs` is charged now and told to wait
   * (traffic shaping): returns the ms to wait (0: go now), or minus the ms until it may go when that
   * is longer than `maxWaitMs` (not charged).
   */
  reserve(key: string, maxWaitMs: number): number;
  /** Gives back the token of a reservation whose request did not go (its client left while waiting). */
  refund(key: string): void;
}

/** `take` in terms of `reserve`. @internal */
export function takeOf(limiter: RateLimiter, key: string): number {
  const w = limiter.reserve(key, 0);
  return w < 0 ? -w : 0;
}

/** A token bucket's shape: `qps` tokens a second (may be fractional), holding at most `burst`. */
export interface RateLimitOptions {
  qps: number;
  burst: number;
  now?: Now;
}

// Float noise below a nanosecond is not a reason to turn a request away.
const EPSILON_MS = 1e-6;

/**
 * The bucket is kept as one number, GCRA-style: the theoretical arrival time (`tat`) at which the bucket
 * is full again. A request at `now` fits when `max(tat, now) + interval` lies at most `burst` intervals
 * ahead of `now`; a rejected request costs nothing. Returns 0 or the ms to wait (never 0 when refusing).
 * @internal
 */
export function gcraWait(tat: number, now: number, intervalMs: number, capacityMs: number): number {
  const wait = Math.max(tat, now) + intervalMs - capacityMs - now;
  return wait > EPSILON_MS ? Math.ceil(wait - EPSILON_MS) : 0;
}

/** @internal Checks a bucket's options; returns [intervalMs, capacityMs]. */
export function bucketShape(opts: RateLimitOptions): [number, number] {
  const qps = validatePositive(opts.qps, 'qps');
  const burst = validatePositive(opts.burst, 'burst');
  if (burst < 1) throw new RangeError(`The "burst" option must be >= 1. Received ${burst}`);
  const intervalMs = 1000 / qps;
  return [intervalMs, burst * intervalMs];
}

/** One token bucket for everything it guards (the key is ignored); starts full. */
export class TokenBucket implements RateLimiter {
  readonly #now: Now;
  readonly #intervalMs: number;
  readonly #capacityMs: number;
  #tat = -Infinity;

  constructor(opts: RateLimitOptions) {
    [this.#intervalMs, this.#capacityMs] = bucketShape(opts);
    this.#now = opts.now ?? monotonicNow;
  }

  take(key: string): number {
    return takeOf(this, key);
  }

  reserve(_key: string, maxWaitMs: number): number {
    const now = this.#now();
    const wait = gcraWait(this.#tat, now, this.#intervalMs, this.#capacityMs);
    if (wait > maxWaitMs) return -wait;
    this.#tat = Math.max(this.#tat, now) + this.#intervalMs;
    return wait;
  }

  refund(_key: string): void {
    this.#tat -= this.#intervalMs;
  }
}

/** Admits every request. */
export class Unlimited implements RateLimiter {
  take(_key: string): number {
    return 0;
  }

  reserve(_key: string, _maxWaitMs: number): number {
    return 0;
  }

  refund(_key: string): void {}
}
