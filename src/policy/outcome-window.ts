/**
 * Counts of recent outcomes over a sliding window of `buckets` equal time buckets. The window holds the
 * current bucket and the `buckets - 1` before it, so it spans between `windowMs - windowMs / buckets`
 * and `windowMs` of history; an old bucket is zeroed (and leaves the sums) when time moves past it.
 * Fixed typed arrays: recording allocates nothing.
 * @internal
 */
export class OutcomeWindow {
  readonly #bucketMs: number;
  readonly #n: number;
  readonly #total: Uint32Array;
  readonly #failed: Uint32Array;
  readonly #slow: Uint32Array;
  // The bucket index (time / bucketMs) the window was last advanced to.
  #current = -Infinity;
  /** Outcomes in the window. */
  total = 0;
  /** Failed outcomes in the window. */
  failed = 0;
  /** Slow outcomes in the window. */
  slow = 0;

  constructor(windowMs: number, buckets: number) {
    this.#bucketMs = windowMs / buckets;
    this.#n = buckets;
    this.#total = new Uint32Array(buckets);
    this.#failed = new Uint32Array(buckets);
    this.#slow = new Uint32Array(buckets);
  }

  /** Counts one outcome at time `now`. */
  add(now: number, failed: boolean, slow: boolean): void {
    const index = Math.floor(now / this.#bucketMs);
    // A clock that steps back counts into the newest bucket rather than rewriting history.
    if (index > this.#current) this.#advance(index);
    const slot = this.#slot(this.#current);
    this.#total[slot]++;
    this.total++;
    if (failed) {
      this.#failed[slot]++;
      this.failed++;
    }
    if (slow) {
      this.#slow[slot]++;
      this.slow++;
    }
  }

  /** Forgets everything. */
  reset(): void {
    this.#total.fill(0);
    this.#failed.fill(0);
    this.#slow.fill(0);
    this.total = this.failed = this.slow = 0;
    this.#current = -Infinity;
  }

  #advance(index: number): void {
    if (index - this.#current >= this.#n) {
      this.reset();
    } else {
      for (let i = this.#current + 1; i <= index; i++) {
        const slot = this.#slot(i);
        this.total -= this.#total[slot];
        this.failed -= this.#failed[slot];
        this.slow -= this.#slow[slot];
        this.#total[slot] = this.#failed[slot] = this.#slow[slot] = 0;
      }
    }
    this.#current = index;
  }

  #slot(index: number): number {
    const s = index % this.#n;
    return s < 0 ? s + this.#n : s;
  }
}
