import { QueueAbortedError, QueueFullError } from './errors.ts';
import { SlotPermit, type ConcurrencyLimiter, type Permit, type SlotOwner } from './concurrency-limiter.ts';
import { validateInteger, validatePositive } from './validate.ts';
import { Waiter, WaiterQueue, type WaiterOwner } from './waiter-queue.ts';

/** Slots, queue length and how long a request may wait in the queue. */
export interface InflightLimiterOptions {
  /** Requests in flight at most. */
  maxInflight: number;
  /** Requests waiting at most; 0 refuses at once when every slot is taken. */
  queueLength: number;
  /** How long a request may wait for a slot; Infinity waits until its signal aborts. */
  queueTimeoutMs: number;
}

// setTimeout fires at once for delays above this, so longer finite timeouts are refused.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** @internal Checks the queue timeout option. */
export function validateQueueTimeout(value: unknown): number {
  const t = validatePositive(value, 'queueTimeoutMs', Infinity);
  if (t !== Infinity && t > MAX_TIMER_MS) {
    throw new RangeError(`The "queueTimeoutMs" option must be <= ${MAX_TIMER_MS} or Infinity. Received ${t}`);
  }
  return t;
}

/**
 * At most `maxInflight` permits out; up to `queueLength` more requests wait in FIFO order. A released
 * slot passes straight to the head of the queue (never back to the pool), so waiters are served in
 * order, nobody barges in through tryAcquire meanwhile, and a release wakes exactly one waiter.
 */
export class InflightLimiter implements ConcurrencyLimiter, SlotOwner, WaiterOwner {
  readonly maxInflight: number;
  readonly queueLength: number;
  readonly queueTimeoutMs: number;
  #inflight = 0;
  readonly #queue = new WaiterQueue();

  constructor(opts: InflightLimiterOptions) {
    this.maxInflight = validateInteger(opts.maxInflight, 'maxInflight', 1);
    this.queueLength = validateInteger(opts.queueLength, 'queueLength', 0);
    this.queueTimeoutMs = validateQueueTimeout(opts.queueTimeoutMs);
  }

  get inflight(): number {
    return this.#inflight;
  }

  get queued(): number {
    return this.#queue.length;
  }

  tryAcquire(): Permit | null {
    if (this.#inflight >= this.maxInflight) return null;
    this.#inflight++;
    return new SlotPermit(this);
  }

  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError(signal.reason));
    const permit = this.tryAcquire();
    if (permit !== null) return Promise.resolve(permit);
    if (this.#queue.length >= this.queueLength) return Promise.reject(new QueueFullError());
    const w = new Waiter(this, signal);
    this.#queue.push(w);
    return w.settle.promise;
  }

  /** @internal Hands the slot to the oldest waiter, or frees it. */
  releaseSlot(): void {
    const w = this.#queue.head;
    if (w === null) {
      this.#inflight--;
      return;
    }
    this.#queue.remove(w);
    w.disarm();
    w.settle.resolve(new SlotPermit(this));
  }

  /** @internal A waiter gives up (timeout or abort) and leaves the queue. */
  leave(w: Waiter, error: Error): void {
    // A waiter already served or gone is neither in the list nor the head.
    if (!this.#queue.has(w)) return;
    this.#queue.remove(w);
    w.disarm();
    w.settle.reject(error);
  }
}
