import { monotonicNow, type Now } from './clock.ts';

/** Keys (client addresses) refused for a while after they misbehaved. */
export interface Penalties {
  /** `key` is refused for the next `ms` milliseconds (from now; a later call replaces it). */
  penalize(key: string, ms: number): void;
  /** True while `key` is within a penalty. */
  penalized(key: string): boolean;
}

/** Keys a PenaltyBox holds at most unless told. */
const MAX_KEYS = 10_000;

/**
 * Penalties in this thread: at most `max` keys (default 10,000), the one penalised longest ago leaves first (a
 * flood of addresses cannot grow it). Expired entries are dropped when looked up.
 */
export class PenaltyBox implements Penalties {
  /** Key → until when (on `now`) it is refused; insertion-ordered. */
  readonly #until = new Map<string, number>();
  readonly #max: number;
  readonly #now: Now;

  constructor(max = MAX_KEYS, now: Now = monotonicNow) {
    this.#max = max;
    this.#now = now;
  }

  penalize(key: string, ms: number): void {
    this.#until.delete(key);
    this.#until.set(key, this.#now() + ms);
    if (this.#until.size > this.#max) this.#until.delete(this.#until.keys().next().value!);
  }

  penalized(key: string): boolean {
    if (this.#until.size === 0) return false;
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (this.#now() < until) return true;
    this.#until.delete(key);
    return false;
  }
}
