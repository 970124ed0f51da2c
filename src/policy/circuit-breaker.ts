/** `closed` admits, `open` rejects, `half-open` admits a few probes to learn whether to close again. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What happened to one admitted request. */
export interface Outcome {
  /** False for a failure (connect error, timeout, 5xx, as the caller defines it). */
  ok: boolean;
  latencyMs: number;
}

/** Stops sending requests to an upstream that is failing, and lets a few through to see if it is back. */
export interface CircuitBreaker {
  /** True when the request may go; false means reject it now (503 with `Retry-After`). */
  allow(): boolean;
  /** Reports the outcome of a request `allow()` admitted; call exactly once per admitted request. */
  record(outcome: Outcome): void;
  /** The current state. */
  readonly state: BreakerState;
  /** While rejecting: ms until a request may be admitted again (a hint); 0 when admitting. */
  retryAfterMs(): number;
}

/** A breaker forced open or closed by configuration. */
export class ManualBreaker implements CircuitBreaker {
  readonly state: BreakerState;
  readonly #retryAfterMs: number;

  /** `retryAfterMs` is the hint given while forced open, as nothing will change by itself. */
  constructor(open: boolean, retryAfterMs = 1000) {
    if (!(retryAfterMs >= 1 && retryAfterMs < Infinity)) {
      throw new RangeError(
        `The "retryAfterMs" option must be a finite number >= 1. Received ${retryAfterMs}`,
      );
    }
    this.state = open ? 'open' : 'closed';
    this.#retryAfterMs = open ? retryAfterMs : 0;
  }

  allow(): boolean {
    return this.state === 'closed';
  }

  record(_outcome: Outcome): void {}

  retryAfterMs(): number {
    return this.#retryAfterMs;
  }
}

/** A breaker that never opens. */
export class ClosedBreaker implements CircuitBreaker {
  get state(): BreakerState {
    return 'closed';
  }

  allow(): boolean {
    return true;
  }

  record(_outcome: Outcome): void {}

  retryAfterMs(): number {
    return 0;
  }
}
