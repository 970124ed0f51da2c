import { sharedNow, type Now } from './clock.ts';
import { bucketShape, gcraWait, takeOf, type RateLimiter, type RateLimitOptions } from './rate-limiter.ts';
import { bitsFloat, floatBits, validateSharedBuffer } from './shared-cells.ts';

/** A token bucket's shape and the shared memory holding its state. */
export interface SharedRateLimitOptions extends RateLimitOptions {
  /** `SharedTokenBucket.BYTES` bytes, zeroed when new, given alike to every thread sharing the bucket. */
  buffer: SharedArrayBuffer;
}

/**
 * A `TokenBucket` whose state lives in shared memory, so that every worker thread holding a
 * `SharedTokenBucket` over the same buffer draws from one bucket. The state is the GCRA `tat` (one
 * double, see `gcraWait`), updated with a compare-and-swap loop: a request is charged exactly once,
 * however many threads take at the same instant. Time is `sharedNow` unless `now` is given.
 */
export class SharedTokenBucket implements RateLimiter {
  /** Bytes of shared memory one bucket needs. */
  static readonly BYTES = 8;
  readonly #now: Now;
  readonly #intervalMs: number;
  readonly #capacityMs: number;
  // [0]: the bits of tat. A zeroed buffer reads as tat = +0: a full bucket for any time >= 0, which
  // is all `sharedNow` (time since boot) ever reads, so a new buffer needs no initialising race.
  readonly #cells: BigInt64Array;

  constructor(opts: SharedRateLimitOptions) {
    [this.#intervalMs, this.#capacityMs] = bucketShape(opts);
    this.#now = opts.now ?? sharedNow;
    this.#cells = new BigInt64Array(validateSharedBuffer(opts.buffer, 'buffer', SharedTokenBucket.BYTES));
  }

  take(key: string): number {
    return takeOf(this, key);
  }

  reserve(_key: string, maxWaitMs: number): number {
    const now = this.#now();
    const cells = this.#cells;
    for (;;) {
      const bits = Atomics.load(cells, 0);
      const tat = bitsFloat(bits);
      const wait = gcraWait(tat, now, this.#intervalMs, this.#capacityMs);
      if (wait > maxWaitMs) return -wait;
      const next = floatBits(Math.max(tat, now) + this.#intervalMs);
      if (Atomics.compareExchange(cells, 0, bits, next) === bits) return wait;
    }
  }

  refund(_key: string): void {
    const cells = this.#cells;
    for (;;) {
      const bits = Atomics.load(cells, 0);
      const next = floatBits(bitsFloat(bits) - this.#intervalMs);
      if (Atomics.compareExchange(cells, 0, bits, next) === bits) return;
    }
  }
}
