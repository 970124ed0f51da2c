import { QueueAbortedError, QueueFullError } from './errors.ts';
import { SlotPermit, type ConcurrencyLimiter, type Permit, type SlotOwner } from './concurrency-limiter.ts';
import { validateQueueTimeout, type InflightLimiterOptions } from './inflight-limiter.ts';
import { validateSharedBuffer } from './shared-cells.ts';
import { validateInteger } from './validate.ts';
import { Waiter, WaiterQueue, type WaiterOwner } from './waiter-queue.ts';

/** Int32 cells of the shared buffer. */
const INFLIGHT = 0;
/** Requests queued in all threads together. */
const WAITING = 1;
/** Bumped by a release while someone waits: what queued threads `Atomics.waitAsync` on. */
const RELEASES = 2;

/** Slots, queue and the shared memory holding the count of slots taken. */
export interface SharedInflightLimiterOptions extends InflightLimiterOptions {
  /** `SharedInflightLimiter.BYTES` zeroed bytes, given alike to every thread sharing the limit. */
  buffer: SharedArrayBuffer;
}

/**
 * An `InflightLimiter` whose count of slots taken lives in shared memory: at most `maxInflight`
 * permits are out across every worker thread holding a `SharedInflightLimiter` over the same buffer
 * (a compare-and-swap bounded increment, so the cap is exact). The queue is this thread's own:
 *
 * - within a thread waiters are served in FIFO order, and a slot released in a thread with waiters
 *   goes straight to its oldest waiter (as `InflightLimiter` does);
 * - a slot released in a thread without waiters is freed and the threads that have waiters are woken
 *   (`Atomics.notify`; they wait with `Atomics.waitAsync`, so no thread blocks); the first to take it
 *   serves its oldest waiter. Across threads the order is thus not FIFO: each thread's queue drains
 *   at the rate slots are freed in it, plus what it wins of the slots freed elsewhere;
 * - while any thread has waiters, `tryAcquire` refuses in every thread, so new requests queue behind
 *   them rather than barging past (they then compete for freed slots as the others do).
 */
export class SharedInflightLimiter implements ConcurrencyLimiter, SlotOwner, WaiterOwner {
  /** Bytes of shared memory one limiter needs. */
  static readonly BYTES = 16;
  readonly maxInflight: number;
  readonly queueLength: number;
  readonly queueTimeoutMs: number;
  readonly #cells: Int32Array;
  readonly #queue = new WaiterQueue();
  /** An `Atomics.waitAsync` is pending (one per limiter and thread is enough). */
  #armed = false;
  readonly #woken = () => {
    this.#armed = false;
    this.#pump();
  };

  constructor(opts: SharedInflightLimiterOptions) {
    this.maxInflight = validateInteger(opts.maxInflight, 'maxInflight', 1, 2 ** 31 - 1);
    this.queueLength = validateInteger(opts.queueLength, 'queueLength', 0);
    this.queueTimeoutMs = validateQueueTimeout(opts.queueTimeoutMs);
    this.#cells = new Int32Array(validateSharedBuffer(opts.buffer, 'buffer', SharedInflightLimiter.BYTES));
  }

  /** Permits out in all threads together. */
  get inflight(): number {
    return Atomics.load(this.#cells, INFLIGHT);
  }

  /** Requests waiting in this thread's queue. */
  get queued(): number {
    return this.#queue.length;
  }

  tryAcquire(): Permit | null {
    if (Atomics.load(this.#cells, WAITING) > 0 || !this.#take()) return null;
    return new SlotPermit(this);
  }

  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError(signal.reason));
    const permit = this.tryAcquire();
    if (permit !== null) return Promise.resolve(permit);
    if (this.#queue.length >= this.queueLength) return Promise.reject(new QueueFullError());
    const w = new Waiter(this, signal);
    this.#queue.push(w);
    Atomics.add(this.#cells, WAITING, 1);
    this.#pump();
    return w.settle.promise;
  }

  /** @internal Hands the slot to this thread's oldest waiter, or frees it and wakes other threads' waiters. */
  releaseSlot(): void {
    const w = this.#queue.head;
    if (w !== null) return this.#serve(w);
    const cells = this.#cells;
    Atomics.sub(cells, INFLIGHT, 1);
    if (Atomics.load(cells, WAITING) > 0) {
      Atomics.add(cells, RELEASES, 1);
      Atomics.notify(cells, RELEASES);
    }
  }

  /** @internal A waiter gives up (timeout or abort) and leaves the queue. */
  leave(w: Waiter, error: Error): void {
    if (!this.#queue.has(w)) return;
    this.#queue.remove(w);
    Atomics.sub(this.#cells, WAITING, 1);
    w.disarm();
    w.settle.reject(error);
  }

  /** A slot if one is free: the bounded increment. */
  #take(): boolean {
    const cells = this.#cells;
    for (;;) {
      const n = Atomics.load(cells, INFLIGHT);
      if (n >= this.maxInflight) return false;
      if (Atomics.compareExchange(cells, INFLIGHT, n, n + 1) === n) return true;
    }
  }

  #serve(w: Waiter): void {
    this.#queue.remove(w);
    Atomics.sub(this.#cells, WAITING, 1);
    w.disarm();
    w.settle.resolve(new SlotPermit(this));
  }

  /**
   * Serves waiters while slots are free, then (if some still wait) waits for the next release
   * elsewhere. The release count is read before trying, so a release in between is never missed:
   * `waitAsync` then returns at once ('not-equal') and the loop tries again.
   */
  #pump(): void {
    const cells = this.#cells;
    for (;;) {
      const seen = Atomics.load(cells, RELEASES);
      while (this.#queue.head !== null && this.#take()) this.#serve(this.#queue.head);
      if (this.#queue.head === null || this.#armed) return;
      const r = Atomics.waitAsync(cells, RELEASES, seen);
      if (r.async) {
        this.#armed = true;
        void r.value.then(this.#woken);
        return;
      }
    }
  }
}
