import { monotonicNow, type Now } from './clock.ts';
import { validateInteger } from './validate.ts';
import { bucketShape, gcraWait, takeOf, type RateLimiter, type RateLimitOptions } from './rate-limiter.ts';

/** Bucket shape plus how many keys to remember. */
export interface KeyedRateLimitOptions extends RateLimitOptions {
  /** Most keys remembered at once; the least recently used is forgotten first. */
  maxKeys: number;
}

/**
 * One token bucket per key (a user or service account), each starting full, in a bounded LRU.
 *
 * Memory stays within `maxKeys` entries however many distinct keys arrive. An evicted key starts full
 * again when it returns. That only gives a key more than its share when more than `maxKeys` other keys
 * were used since its last request and its bucket had not yet refilled (within `burst / qps` seconds);
 * size `maxKeys` above the number of keys active in that span and eviction is lossless.
 */
export class KeyedTokenBuckets implements RateLimiter {
  readonly #now: Now;
  readonly #intervalMs: number;
  readonly #capacityMs: number;
  readonly #maxKeys: number;
  // key → theoretical arrival time (see gcraWait); Map order is recency order, oldest first.
  readonly #tats = new Map<string, number>();

  constructor(opts: KeyedRateLimitOptions) {
    [this.#intervalMs, this.#capacityMs] = bucketShape(opts);
    this.#maxKeys = validateInteger(opts.maxKeys, 'maxKeys', 1);
    this.#now = opts.now ?? monotonicNow;
  }

  /** How many keys are remembered now. */
  get size(): number {
    return this.#tats.size;
  }

  take(key: string): number {
    return takeOf(this, key);
  }

  reserve(key: string, maxWaitMs: number): number {
    const now = this.#now();
    const tats = this.#tats;
    let tat = tats.get(key);
    if (tat === undefined) {
      tat = -Infinity;
      if (tats.size >= this.#maxKeys) this.#evictOldest();
    } else {
      // Re-inserting moves the key to the recent end of the Map's order.
      tats.delete(key);
    }
    const wait = gcraWait(tat, now, this.#intervalMs, this.#capacityMs);
    if (wait > maxWaitMs) {
      tats.set(key, tat);
      return -wait;
    }
    tats.set(key, Math.max(tat, now) + this.#intervalMs);
    return wait;
  }

  refund(key: string): void {
    const tat = this.#tats.get(key);
    if (tat !== undefined) this.#tats.set(key, tat - this.#intervalMs);
  }

  #evictOldest(): void {
    for (const oldest of this.#tats.keys()) {
      this.#tats.delete(oldest);
      return;
    }
  }
}
