import { QueueAbortedError } from './errors.ts';

/** A held concurrency slot. */
export interface Permit {
  /** Gives the slot back; calling it again does nothing. */
  release(): void;
}

/** Bounds the requests in flight, queueing the excess for a while. */
export interface ConcurrencyLimiter {
  /** A permit when a slot is free now (no promise, no queueing), else null. */
  tryAcquire(): Permit | null;
  /**
   * A permit as soon as a slot is free, in FIFO order. Rejects with QueueFullError at once when the
   * queue is full, QueueTimeoutError after the queue timeout, QueueAbortedError when `signal` aborts
   * (the request then leaves the queue). A permit that arrives after the caller gave up must still be
   * released by the caller.
   */
  acquire(signal?: AbortSignal): Promise<Permit>;
  /** Permits handed out and not yet released. */
  readonly inflight: number;
  /** Requests waiting in the queue. */
  readonly queued: number;
}

/** @internal What a permit gives its slot back to. */
export interface SlotOwner {
  releaseSlot(): void;
}

/**
 * A release-once permit. One small object per request is the price of idempotent release: a pooled,
 * reused permit could be released twice by a stale holder and free someone else's slot.
 * @internal
 */
export class SlotPermit implements Permit {
  #owner: SlotOwner | null;

  constructor(owner: SlotOwner) {
    this.#owner = owner;
  }

  release(): void {
    const owner = this.#owner;
    if (owner === null) return;
    this.#owner = null;
    owner.releaseSlot();
  }
}

/** Admits everything at once while still counting what is in flight. */
export class UnlimitedConcurrency implements ConcurrencyLimiter, SlotOwner {
  #inflight = 0;

  get inflight(): number {
    return this.#inflight;
  }

  get queued(): number {
    return 0;
  }

  tryAcquire(): Permit {
    this.#inflight++;
    return new SlotPermit(this);
  }

  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError(signal.reason));
    return Promise.resolve(this.tryAcquire());
  }

  /** @internal */
  releaseSlot(): void {
    this.#inflight--;
  }
}
