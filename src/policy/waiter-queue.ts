import { QueueAbortedError, QueueTimeoutError } from './errors.ts';
import type { Permit } from './concurrency-limiter.ts';

/** What a queued request belongs to: the limiter that lets it leave on timeout or abort. @internal */
export interface WaiterOwner {
  readonly queueTimeoutMs: number;
  leave(w: Waiter, error: Error): void;
}

/**
 * A queued request: a node of a limiter's intrusive FIFO list (so an abort leaves the queue in O(1))
 * and its own abort listener (handleEvent), so queueing needs no closures of ours.
 * @internal
 */
export class Waiter {
  readonly owner: WaiterOwner;
  readonly signal: AbortSignal | undefined;
  readonly settle: PromiseWithResolvers<Permit>;
  timer: NodeJS.Timeout | undefined = undefined;
  prev: Waiter | null = null;
  next: Waiter | null = null;

  constructor(owner: WaiterOwner, signal: AbortSignal | undefined) {
    this.owner = owner;
    this.signal = signal;
    this.settle = Promise.withResolvers<Permit>();
    if (owner.queueTimeoutMs !== Infinity) {
      // Unref'd: a queued request is held by its socket, and its timer must not delay shutdown.
      this.timer = setTimeout(onQueueTimeout, owner.queueTimeoutMs, this).unref();
    }
    signal?.addEventListener('abort', this, { once: true });
  }

  handleEvent(): void {
    this.owner.leave(this, new QueueAbortedError(this.signal?.reason));
  }

  /** Stops the timer and the abort listener once the waiter is settled. */
  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
  }
}

function onQueueTimeout(w: Waiter): void {
  w.owner.leave(w, new QueueTimeoutError(w.owner.queueTimeoutMs));
}

/** The FIFO list of a limiter's waiters. @internal */
export class WaiterQueue {
  head: Waiter | null = null;
  #tail: Waiter | null = null;
  length = 0;

  push(w: Waiter): void {
    w.prev = this.#tail;
    if (this.#tail === null) this.head = w;
    else this.#tail.next = w;
    this.#tail = w;
    this.length++;
  }

  /** True when `w` is still queued (not served, timed out or gone). */
  has(w: Waiter): boolean {
    return w.prev !== null || this.head === w;
  }

  remove(w: Waiter): void {
    if (w.prev === null) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.#tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    this.length--;
  }
}
