import type { WatchEvent } from './event.ts';

/** Bounds of a shared watch's event window. */
export interface WindowLimits {
  /** Most events held. */
  maxEvents: number;
  /** Most bytes of events held. */
  maxBytes: number;
}

/**
 * The recent events of one shared watch, in the order the apiserver sent them, each with a
 * sequence number. Every event with a resourceVersion above `floor` is held, so a client that
 * starts at or above `floor` is served exactly what a direct watch would send it; one below it
 * is not. Evicting the oldest event raises `floor` to its resourceVersion.
 */
export class EventWindow {
  readonly limits: WindowLimits;
  /** Every event with a resourceVersion above this one is held. */
  floor: bigint;
  readonly #ring: (WatchEvent | undefined)[];
  #first = 0;
  #next = 0;
  #bytes = 0;

  constructor(limits: WindowLimits, floor: bigint) {
    if (!(limits.maxEvents >= 1))
      throw new RangeError(`maxEvents must be at least 1, got ${limits.maxEvents}`);
    this.limits = limits;
    this.floor = floor;
    this.#ring = new Array<WatchEvent | undefined>(limits.maxEvents);
  }

  /** Sequence number of the oldest event held. */
  get firstSeq(): number {
    return this.#first;
  }

  /** Sequence number the next event will get. */
  get nextSeq(): number {
    return this.#next;
  }

  get size(): number {
    return this.#next - this.#first;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Appends an event, evicting the oldest ones past the limits (never the new one). */
  push(e: WatchEvent): void {
    const max = this.limits.maxEvents;
    while (this.size >= max || (this.size > 0 && this.#bytes + e.bytes.length > this.limits.maxBytes))
      this.#evict();
    this.#ring[this.#next % max] = e;
    this.#next++;
    this.#bytes += e.bytes.length;
  }

  /** The event with sequence number `seq`, if still held. */
  at(seq: number): WatchEvent | undefined {
    if (seq < this.#first || seq >= this.#next) return undefined;
    return this.#ring[seq % this.limits.maxEvents];
  }

  /**
   * Where a client starting after resourceVersion `rv` begins: the sequence number of the first
   * event above it (`nextSeq` when none yet); null when `rv` is below `floor` (events it must
   * see are gone).
   */
  startAfter(rv: bigint): number | null {
    if (rv < this.floor) return null;
    let lo = this.#first;
    let hi = this.#next;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.at(mid)!;
      // Terminal frames carry the last resourceVersion: they stay after every event.
      if (e.kind !== 'error' && e.kind !== 'end' && e.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #evict(): void {
    const i = this.#first % this.limits.maxEvents;
    const e = this.#ring[i]!;
    this.#ring[i] = undefined;
    this.#first++;
    this.#bytes -= e.bytes.length;
    if (e.rv > this.floor) this.floor = e.rv;
  }
}
