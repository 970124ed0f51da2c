/** Time as the session sees it; tests pass a simulated clock to drive timers without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** One restartable timer (ConnectRetry, Hold, Keepalive, …) on a clock. */
export class Timer {
  readonly #clock: Clock;
  readonly #fire: () => void;
  #handle: unknown;

  constructor(clock: Clock, fire: () => void) {
    this.#clock = clock;
    this.#fire = fire;
  }

  get running(): boolean {
    return this.#handle !== undefined;
  }

  start(ms: number): void {
    this.stop();
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = undefined;
      this.#fire();
    }, ms);
  }

  stop(): void {
    if (this.#handle === undefined) return;
    this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}
