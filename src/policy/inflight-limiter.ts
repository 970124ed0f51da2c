import { QueueAbortedError, QueueFullError, QueueTimeoutError } from './errors.ts';
import { SlotPermit, type ConcurrencyLimiter, type Permit, type SlotOwner } from './concurrency-limiter.ts';
import { validateInteger, validatePositive } from './validate.ts';

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

/**
 * A queued request: a node of the limiter's intrusive FIFO list (so an abort leaves the queue in O(1))
 * and its own abort listener (handleEvent), so queueing needs no closures of ours.
 */
class Waiter {
  readonly limiter: InflightLimiter;
  readonly signal: AbortSignal | undefined;
  readonly settle: PromiseWithResolvers<Permit>;
  timer: NodeJS.Timeout | undefined = undefined;
  prev: Waiter | null = null;
  next: Waiter | null = null;

  constructor(limiter: InflightLimiter, signal: AbortSignal | undefined) {
    this.limiter = limiter;
    this.signal = signal;
    this.settle = Promise.withResolvers<Permit>();
  }

  handleEvent(): void {
    this.limiter.leave(this, new QueueAbortedError(this.signal?.reason));
  }

  /** Stops the timer and the abort listener once the waiter is settled. */
  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
  }
}

function onQueueTimeout(w: Waiter): void {
  w.limiter.leave(w, new QueueTimeoutError(w.limiter.queueTimeoutMs));
}

/**
 * At most `maxInflight` permits out; up to `queueLength` more requests wait in FIFO order. A released
 * slot passes straight to the head of the queue (never back to the pool), so waiters are served in
 * order, nobody barges in through tryAcquire meanwhile, and a release wakes exactly one waiter.
 */
export class InflightLimiter implements ConcurrencyLimiter, SlotOwner {
  readonly maxInflight: number;
  readonly queueLength: number;
  readonly queueTimeoutMs: number;
  #inflight = 0;
  #queued = 0;
  #head: Waiter | null = null;
  #tail: Waiter | null = null;

  constructor(opts: InflightLimiterOptions) {
    this.maxInflight = validateInteger(opts.maxInflight, 'maxInflight', 1);
    this.queueLength = validateInteger(opts.queueLength, 'queueLength', 0);
    const t = validatePositive(opts.queueTimeoutMs, 'queueTimeoutMs', Infinity);
    if (t !== Infinity && t > MAX_TIMER_MS) {
      throw new RangeError(
        `The "queueTimeoutMs" option must be <= ${MAX_TIMER_MS} or Infinity. Received ${t}`,
      );
    }
    this.queueTimeoutMs = t;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get queued(): number {
    return this.#queued;
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
    if (this.#queued >= this.queueLength) return Promise.reject(new QueueFullError());
    const w = new Waiter(this, signal);
    if (this.queueTimeoutMs !== Infinity) {
      // Unref'd: a queued request is held by its socket, and its timer must not delay shutdown.
      w.timer = setTimeout(onQueueTimeout, this.queueTimeoutMs, w).unref();
    }
    signal?.addEventListener('abort', w, { once: true });
    this.#enqueue(w);
    return w.settle.promise;
  }

  /** @internal Hands the slot to the oldest waiter, or frees it. */
  releaseSlot(): void {
    const w = this.#head;
    if (w === null) {
      this.#inflight--;
      return;
    }
    this.#unlink(w);
    w.disarm();
    w.settle.resolve(new SlotPermit(this));
  }

  /** @internal A waiter gives up (timeout or abort) and leaves the queue. */
  leave(w: Waiter, error: Error): void {
    // A waiter already served or gone is neither in the list nor the head.
    if (w.prev === null && this.#head !== w) return;
    this.#unlink(w);
    w.disarm();
    w.settle.reject(error);
  }

  #enqueue(w: Waiter): void {
    w.prev = this.#tail;
    if (this.#tail === null) this.#head = w;
    else this.#tail.next = w;
    this.#tail = w;
    this.#queued++;
  }

  #unlink(w: Waiter): void {
    if (w.prev === null) this.#head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.#tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    this.#queued--;
  }
}
