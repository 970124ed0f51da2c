/**
 * A controller's sync loop: `schedule()` runs `sync` once after `windowMs` (a burst of changes is
 * one run); one run at a time, and a request during a run makes exactly one more run after it.
 */
export class CoalescedSync {
  readonly #sync: () => Promise<void>;
  readonly #windowMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(sync: () => Promise<void>, windowMs: number) {
    this.#sync = sync;
    this.#windowMs = windowMs;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** A run after the window, unless one is already pending. */
  schedule(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.now();
    }, this.#windowMs);
  }

  /** A run now (the pending one is folded in); resolves when the run it joined ends. */
  now(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#sync().finally(() => {
      this.#running = null;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.schedule();
      }
    });
    return this.#running;
  }

  /** One more run after the one under way (its result is known to be stale). */
  again(): void {
    if (this.#running) this.#again = true;
    else this.schedule();
  }

  /** No more runs; resolves (or rejects) as the run under way does. */
  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    return this.#running ?? Promise.resolve();
  }
}
