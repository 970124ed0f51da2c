import type { BreakerState, CircuitBreaker, Outcome } from './circuit-breaker.ts';
import { monotonicNow, type Now } from './clock.ts';
import { OutcomeWindow } from './outcome-window.ts';
import { validateInteger, validatePositive, validateRatio } from './validate.ts';

/** When an AdaptiveBreaker opens and how it recovers. */
export interface AdaptiveBreakerOptions {
  /** Length of the sliding window of outcomes. */
  windowMs: number;
  /** Time buckets the window is made of (its resolution). */
  buckets: number;
  /** Outcomes the window must hold before the ratios are judged. */
  minRequests: number;
  /** Open when failed / total >= errorRatio, in (0, 1]. */
  errorRatio: number;
  /** Open when slow / total >= slowRatio, in (0, 1]; needs slowCallMs. */
  slowRatio?: number;
  /** A call taking longer than this is slow; needs slowRatio. */
  slowCallMs?: number;
  /** How long to stay open before probing. */
  openMs: number;
  /** Probes admitted in half-open; all must succeed to close, any failure re-opens. */
  halfOpenProbes: number;
  now?: Now;
  /** Called once per transition (for logs and metrics). */
  onStateChange?: (state: BreakerState, previous: BreakerState) => void;
}

/**
 * Opens on the error or slow-call ratio over a sliding time window, stays open for `openMs`, then
 * admits `halfOpenProbes` probes (on the first allow() after `openMs`: the breaker has no timer).
 *
 * In half-open a slow probe counts as failed, and probes not all answered within `openMs` of the
 * first one count as failed too, so a probe whose outcome is never recorded cannot wedge the breaker.
 * Outcomes recorded while open are late answers to requests admitted before it opened, and are ignored;
 * in half-open the breaker cannot tell a late answer from a probe's, and takes it as one.
 */
export class AdaptiveBreaker implements CircuitBreaker {
  readonly #now: Now;
  readonly #window: OutcomeWindow;
  readonly #minRequests: number;
  readonly #errorRatio: number;
  readonly #slowRatio: number;
  readonly #slowCallMs: number;
  readonly #openMs: number;
  readonly #probes: number;
  readonly #onStateChange: ((state: BreakerState, previous: BreakerState) => void) | undefined;
  #state: BreakerState = 'closed';
  // When the current state began (open and half-open only).
  #since = 0;
  // Half-open: probes admitted and probes that succeeded.
  #admitted = 0;
  #succeeded = 0;

  constructor(opts: AdaptiveBreakerOptions) {
    const windowMs = validatePositive(opts.windowMs, 'windowMs');
    const buckets = validateInteger(opts.buckets, 'buckets', 1, 10_000);
    this.#window = new OutcomeWindow(windowMs, buckets);
    this.#minRequests = validateInteger(opts.minRequests, 'minRequests', 1);
    this.#errorRatio = validateRatio(opts.errorRatio, 'errorRatio');
    if ((opts.slowRatio === undefined) !== (opts.slowCallMs === undefined)) {
      throw new TypeError('The "slowRatio" and "slowCallMs" options must be given together');
    }
    this.#slowRatio = opts.slowRatio === undefined ? Infinity : validateRatio(opts.slowRatio, 'slowRatio');
    this.#slowCallMs =
      opts.slowCallMs === undefined ? Infinity : validatePositive(opts.slowCallMs, 'slowCallMs');
    this.#openMs = validatePositive(opts.openMs, 'openMs');
    this.#probes = validateInteger(opts.halfOpenProbes, 'halfOpenProbes', 1);
    this.#now = opts.now ?? monotonicNow;
    this.#onStateChange = opts.onStateChange;
  }

  get state(): BreakerState {
    return this.#state;
  }

  allow(): boolean {
    if (this.#state === 'closed') return true;
    const now = this.#now();
    if (this.#state === 'open') {
      if (now - this.#since < this.#openMs) return false;
      this.#enter('half-open', now);
    } else if (this.#admitted >= this.#probes) {
      if (now - this.#since >= this.#openMs) this.#enter('open', now);
      return false;
    }
    this.#admitted++;
    return true;
  }

  record(outcome: Outcome): void {
    const slow = outcome.latencyMs > this.#slowCallMs;
    if (this.#state === 'closed') {
      const w = this.#window;
      w.add(this.#now(), !outcome.ok, slow);
      if (
        w.total >= this.#minRequests &&
        (w.failed >= this.#errorRatio * w.total || w.slow >= this.#slowRatio * w.total)
      ) {
        this.#enter('open', this.#now());
      }
    } else if (this.#state === 'half-open' && this.#succeeded < this.#admitted) {
      if (!outcome.ok || slow) this.#enter('open', this.#now());
      else if (++this.#succeeded >= this.#probes) this.#enter('closed', 0);
    }
  }

  retryAfterMs(): number {
    if (this.#state === 'closed') return 0;
    const left = this.#since + this.#openMs - this.#now();
    if (this.#state === 'open') return left > 0 ? Math.ceil(left) : 0;
    // Half-open with every probe out: nothing changes before they answer or their time runs out.
    return this.#admitted < this.#probes ? 0 : Math.max(1, Math.ceil(left));
  }

  #enter(state: BreakerState, now: number): void {
    const previous = this.#state;
    this.#state = state;
    this.#since = now;
    this.#admitted = 0;
    this.#succeeded = 0;
    if (state === 'closed') this.#window.reset();
    this.#onStateChange?.(state, previous);
  }
}
