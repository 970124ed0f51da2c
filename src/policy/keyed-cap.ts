import type { Permit } from './concurrency-limiter.ts';

/** At most some number of permits held at once per key. */
export interface KeyedLimit {
  /** A permit for `key`, or null when `key` holds the most allowed already. */
  tryAcquire(key: string): Permit | null;
  /** Permits `key` holds now. */
  held(key: string): number;
}

/**
 * At most `max()` permits held at once per key (say, long-running requests per user), no queue.
 * Only keys holding permits are kept, so memory follows what is open, not who ever came.
 */
export class KeyedCap implements KeyedLimit {
  readonly #held = new Map<string, number>();
  readonly #max: () => number;

  constructor(max: () => number) {
    this.#max = max;
  }

  /** A permit for `key`, or null when `key` holds the most allowed already. */
  tryAcquire(key: string): Permit | null {
    const n = this.#held.get(key) ?? 0;
    if (n >= this.#max()) return null;
    this.#held.set(key, n + 1);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        const left = (this.#held.get(key) ?? 1) - 1;
        if (left === 0) this.#held.delete(key);
        else this.#held.set(key, left);
      },
    };
  }

  /** Permits `key` holds now. */
  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  /** Keys holding permits. */
  get size(): number {
    return this.#held.size;
  }
}
