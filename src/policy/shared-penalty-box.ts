import { sharedNow, type Now } from './clock.ts';
import type { Penalties } from './penalty-box.ts';
import { bitsFloat, floatBits, validateSharedBuffer } from './shared-cells.ts';
import { bucketAndTag } from './key-hash.ts';

// Layout: Int32 cells, BUCKETS buckets of [lock, tag0, …, tag7]; then BigInt64 cells: [latest]
// and BUCKETS × WAYS untils (the bits of a `sharedNow` time). A key lives in the bucket its first
// hash picks, under the tag of its second (0 = free way). `latest` is the furthest until ever
// set: while it is past, nobody is penalised and a lookup reads that one cell.
const WAYS = 8;
const BUCKETS = 4096;
const TAG_CELLS = BUCKETS * (1 + WAYS);
const UNTILS_OFFSET = TAG_CELLS * 4;

/** Bytes of the SharedArrayBuffer a SharedPenaltyBox needs. */
export const SHARED_PENALTY_BOX_BYTES = UNTILS_OFFSET + (1 + BUCKETS * WAYS) * 8;

/** A SharedArrayBuffer for one SharedPenaltyBox, shared by every thread that refuses the same keys. */
export function allocateSharedPenaltyBox(): SharedArrayBuffer {
  return new SharedArrayBuffer(SHARED_PENALTY_BOX_BYTES);
}

const hashes = (key: string): [number, number] => bucketAndTag(key, BUCKETS);

/**
 * Penalties every worker thread sees: a key penalised in one thread is refused by all of them
 * until its time is up. 4096 buckets of 8 ways (32,768 keys); a key penalised into a full bucket
 * replaces the way whose penalty ends first. Two keys share an entry only when both their hashes
 * collide (bucket and 32-bit tag). Time is `sharedNow` unless `now` is given.
 */
export class SharedPenaltyBox implements Penalties {
  readonly #tags: Int32Array;
  readonly #untils: BigInt64Array;
  readonly #now: Now;

  constructor(buffer: SharedArrayBuffer, now: Now = sharedNow) {
    validateSharedBuffer(buffer, 'buffer', SHARED_PENALTY_BOX_BYTES);
    this.#tags = new Int32Array(buffer, 0, TAG_CELLS);
    this.#untils = new BigInt64Array(buffer, UNTILS_OFFSET, 1 + BUCKETS * WAYS);
    this.#now = now;
  }

  penalize(key: string, ms: number): void {
    const now = this.#now();
    const until = now + ms;
    const [bucket, tag] = hashes(key);
    const base = bucket * (1 + WAYS);
    const tags = this.#tags;
    const untils = this.#untils;
    lock(tags, base);
    try {
      let way = -1;
      let soonest = -1;
      let soonestUntil = Infinity;
      for (let w = 0; w < WAYS; w++) {
        if (tags[base + 1 + w] === tag) {
          way = w;
          break;
        }
        const u = bitsFloat(untils[1 + bucket * WAYS + w]!);
        if (u < soonestUntil) [soonest, soonestUntil] = [w, u];
      }
      if (way < 0) way = soonest;
      tags[base + 1 + way] = tag;
      Atomics.store(untils, 1 + bucket * WAYS + way, floatBits(until));
    } finally {
      unlock(tags, base);
    }
    for (;;) {
      const seen = Atomics.load(untils, 0);
      if (bitsFloat(seen) >= until) break;
      if (Atomics.compareExchange(untils, 0, seen, floatBits(until)) === seen) break;
    }
  }

  penalized(key: string): boolean {
    const now = this.#now();
    if (bitsFloat(Atomics.load(this.#untils, 0)) <= now) return false;
    const [bucket, tag] = hashes(key);
    const base = bucket * (1 + WAYS);
    lock(this.#tags, base);
    try {
      for (let w = 0; w < WAYS; w++)
        if (this.#tags[base + 1 + w] === tag) return bitsFloat(this.#untils[1 + bucket * WAYS + w]!) > now;
      return false;
    } finally {
      unlock(this.#tags, base);
    }
  }
}

function lock(cells: Int32Array, base: number): void {
  // Held for a scan of 8 ways at most; spinning is cheaper than parking the thread.
  while (Atomics.compareExchange(cells, base, 0, 1) !== 0);
}

function unlock(cells: Int32Array, base: number): void {
  Atomics.store(cells, base, 0);
}
