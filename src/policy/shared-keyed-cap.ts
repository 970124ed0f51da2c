import type { Permit } from './concurrency-limiter.ts';
import { KeyedCap, type KeyedLimit } from './keyed-cap.ts';
import { validateSharedBuffer } from './shared-cells.ts';
import { bucketAndTag } from './key-hash.ts';

// Layout (Int32 cells): BUCKETS buckets of [lock, tag0, count0, …, tag7, count7]. A key lives in
// the bucket its first hash picks, under the tag of its second hash (0 = free way). Each bucket
// has a spin lock: the critical section is a scan of 8 ways, and without it two threads adding
// the same new key could each claim a way and split its count.
const WAYS = 8;
const BUCKET_CELLS = 1 + 2 * WAYS;
const BUCKETS = 4096;

/** Bytes of the SharedArrayBuffer a SharedKeyedCap needs. */
export const SHARED_KEYED_CAP_BYTES = BUCKETS * BUCKET_CELLS * 4;

/** A SharedArrayBuffer for one SharedKeyedCap, shared by every thread that counts the same keys. */
export function allocateSharedKeyedCap(): SharedArrayBuffer {
  return new SharedArrayBuffer(SHARED_KEYED_CAP_BYTES);
}

const hashes = (key: string): [number, number] => bucketAndTag(key, BUCKETS);

/**
 * KeyedCap across threads: at most `max()` permits held at once per key, counted in shared memory,
 * so N worker threads together hold what one would. Two keys share a count only when both their
 * hashes collide (bucket and 32-bit tag). A bucket whose 8 ways are all held by other keys falls
 * back to this thread's own count for the newcomer (the cap then holds per thread), which takes
 * more than 8 × 4096 keys holding permits at once to reach.
 */
export class SharedKeyedCap implements KeyedLimit {
  readonly #cells: Int32Array;
  readonly #max: () => number;
  readonly #overflow: KeyedCap;

  constructor(buffer: SharedArrayBuffer, max: () => number) {
    this.#cells = new Int32Array(validateSharedBuffer(buffer, 'buffer', SHARED_KEYED_CAP_BYTES));
    this.#max = max;
    this.#overflow = new KeyedCap(max);
  }

  tryAcquire(key: string): Permit | null {
    const [bucket, tag] = hashes(key);
    const base = bucket * BUCKET_CELLS;
    const cells = this.#cells;
    const max = this.#max();
    lock(cells, base);
    let way = -1;
    let free = -1;
    try {
      for (let w = 0; w < WAYS; w++) {
        const t = cells[base + 1 + 2 * w]!;
        if (t === tag) {
          way = w;
          break;
        }
        if (free < 0 && cells[base + 2 + 2 * w] === 0) free = w;
      }
      if (way >= 0) {
        if (cells[base + 2 + 2 * way]! >= max) return null;
        cells[base + 2 + 2 * way]!++;
      } else if (free >= 0) {
        if (max < 1) return null;
        way = free;
        cells[base + 1 + 2 * way] = tag;
        cells[base + 2 + 2 * way] = 1;
      }
    } finally {
      unlock(cells, base);
    }
    if (way < 0) return this.#overflow.tryAcquire(key);
    return new SharedPermit(cells, base, way);
  }

  held(key: string): number {
    const [bucket, tag] = hashes(key);
    const base = bucket * BUCKET_CELLS;
    for (let w = 0; w < WAYS; w++)
      if (Atomics.load(this.#cells, base + 1 + 2 * w) === tag)
        return Atomics.load(this.#cells, base + 2 + 2 * w) + this.#overflow.held(key);
    return this.#overflow.held(key);
  }
}

function lock(cells: Int32Array, base: number): void {
  // Held for a scan of 8 ways at most; spinning is cheaper than parking the thread.
  while (Atomics.compareExchange(cells, base, 0, 1) !== 0);
}

function unlock(cells: Int32Array, base: number): void {
  Atomics.store(cells, base, 0);
}

class SharedPermit implements Permit {
  readonly #cells: Int32Array;
  readonly #base: number;
  readonly #way: number;
  #held = true;

  constructor(cells: Int32Array, base: number, way: number) {
    this.#cells = cells;
    this.#base = base;
    this.#way = way;
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    lock(this.#cells, this.#base);
    // A way with permits out keeps its tag, so this is still the key's way; at 0 it may be reused.
    this.#cells[this.#base + 2 + 2 * this.#way]!--;
    unlock(this.#cells, this.#base);
  }
}
