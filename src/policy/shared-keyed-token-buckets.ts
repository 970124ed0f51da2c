import { sharedNow, type Now } from './clock.ts';
import { bucketShape, gcraWait, takeOf, type RateLimiter } from './rate-limiter.ts';
import type { KeyedRateLimitOptions } from './keyed-token-buckets.ts';
import { bitsFloat, floatBits, validateSharedBuffer } from './shared-cells.ts';
import { validateInteger } from './validate.ts';

/** Ways per set of the table: a key lives in one of the 16 entries its hash picks. */
const WAYS = 16;
/** Entries per key remembered: at 4× a set of 16 ways holds 4 keys on average. */
const SPREAD = 4;
const HEADER_BYTES = 8;
const ENTRY_BYTES = 24;
const RETRY = -Infinity; // never a wait: those are finite

/** Bucket shape, how many keys to remember, and the shared memory holding them. */
export interface SharedKeyedRateLimitOptions extends KeyedRateLimitOptions {
  /** From `SharedKeyedTokenBuckets.allocate(maxKeys)`, given alike to every thread sharing the buckets. */
  buffer: SharedArrayBuffer;
}

function sets(maxKeys: number): number {
  return Math.ceil((maxKeys * SPREAD) / WAYS);
}

/** A 32-bit hash of `s` (murmur-style mixing of its UTF-16 code units). */
function hash32(s: string, seed: number): number {
  let h = seed ^ s.length;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * `KeyedTokenBuckets` in shared memory: one token bucket per key for every worker thread holding
 * a `SharedKeyedTokenBuckets` over the same buffer.
 *
 * The buffer is a fixed table (24 bytes × 4 × `maxKeys`, so ~1 MB for the default 10,000 keys),
 * set-associative: a key's 64-bit hash (seeded per buffer) picks a set of 16 entries; the key takes a
 * free entry of its set or replaces the set's least recently used one. With at most `maxKeys` keys
 * active a set holds 4 on average and overflows with a probability of ~3·10⁻⁶ (Poisson), so in
 * practice nothing is evicted below `maxKeys` active keys, as with the local LRU; above it, sets
 * overflow and their least recently used keys start full again when they return, as an evicted key
 * of the local LRU does. Two keys with the same 64-bit hash would share a bucket.
 *
 * Each bucket is a GCRA `tat` updated by compare-and-swap, so a request is charged exactly once.
 * The one inexact moment is two threads inserting the same new key at once into a full set: the
 * duplicate is dropped again at once, and a request charged to it in between is forgotten.
 */
export class SharedKeyedTokenBuckets implements RateLimiter {
  readonly #now: Now;
  readonly #intervalMs: number;
  readonly #capacityMs: number;
  readonly #sets: number;
  readonly #seed1: number;
  readonly #seed2: number;
  // Per entry: the key's hash (0 = free), the bits of its tat (0 = +0: full for any time >= 0),
  // when it was last used (plain stores: only the eviction choice reads it, a stale value is harmless).
  readonly #hashes: BigInt64Array;
  readonly #tats: BigInt64Array;
  readonly #used: Float64Array;

  /** Shared memory for `maxKeys` keys, seeded; hand the same buffer to every thread. */
  static allocate(maxKeys: number): SharedArrayBuffer {
    validateInteger(maxKeys, 'maxKeys', 1, 10_000_000);
    const buffer = new SharedArrayBuffer(SharedKeyedTokenBuckets.bytes(maxKeys));
    crypto.getRandomValues(new Uint32Array(buffer, 0, 2));
    return buffer;
  }

  /** Bytes of shared memory for `maxKeys` keys. */
  static bytes(maxKeys: number): number {
    return HEADER_BYTES + sets(maxKeys) * WAYS * ENTRY_BYTES;
  }

  constructor(opts: SharedKeyedRateLimitOptions) {
    [this.#intervalMs, this.#capacityMs] = bucketShape(opts);
    const maxKeys = validateInteger(opts.maxKeys, 'maxKeys', 1, 10_000_000);
    const buffer = validateSharedBuffer(opts.buffer, 'buffer', SharedKeyedTokenBuckets.bytes(maxKeys));
    this.#now = opts.now ?? sharedNow;
    this.#sets = sets(maxKeys);
    const entries = this.#sets * WAYS;
    const seeds = new Uint32Array(buffer, 0, 2);
    this.#seed1 = seeds[0];
    this.#seed2 = seeds[1] ^ 0x9e3779b9;
    this.#hashes = new BigInt64Array(buffer, HEADER_BYTES, entries);
    this.#tats = new BigInt64Array(buffer, HEADER_BYTES + entries * 8, entries);
    this.#used = new Float64Array(buffer, HEADER_BYTES + entries * 16, entries);
  }

  /** How many keys are remembered now (counts the table: for tests and status, not per request). */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.#hashes.length; i++) if (Atomics.load(this.#hashes, i) !== 0n) n++;
    return n;
  }

  take(key: string): number {
    return takeOf(this, key);
  }

  reserve(key: string, maxWaitMs: number): number {
    const now = this.#now();
    const h1 = hash32(key, this.#seed1);
    let hash = BigInt.asIntN(64, (BigInt(h1) << 32n) | BigInt(hash32(key, this.#seed2)));
    if (hash === 0n) hash = 1n;
    const base = (h1 % this.#sets) * WAYS;
    const hashes = this.#hashes;
    for (;;) {
      let at = -1;
      for (let w = base; w < base + WAYS; w++)
        if (Atomics.load(hashes, w) === hash) {
          at = w;
          break;
        }
      if (at < 0) at = this.#insert(base, hash, now);
      if (at < 0) continue;
      const wait = this.#takeAt(at, hash, now, maxWaitMs);
      if (wait !== RETRY) return wait;
    }
  }

  refund(key: string): void {
    const h1 = hash32(key, this.#seed1);
    let hash = BigInt.asIntN(64, (BigInt(h1) << 32n) | BigInt(hash32(key, this.#seed2)));
    if (hash === 0n) hash = 1n;
    const base = (h1 % this.#sets) * WAYS;
    for (let w = base; w < base + WAYS; w++) {
      if (Atomics.load(this.#hashes, w) !== hash) continue;
      for (;;) {
        const bits = Atomics.load(this.#tats, w);
        if (Atomics.load(this.#hashes, w) !== hash) return; // evicted meanwhile: nothing to give back
        const next = floatBits(bitsFloat(bits) - this.#intervalMs);
        if (Atomics.compareExchange(this.#tats, w, bits, next) === bits) return;
      }
    }
  }

  /** Claims an entry of the set for `hash`: a free one, else the least recently used. -1: lost a race, look again. */
  #insert(base: number, hash: bigint, now: number): number {
    const hashes = this.#hashes;
    let victim = -1;
    let oldest = Infinity;
    for (let w = base; w < base + WAYS; w++) {
      if (Atomics.load(hashes, w) === 0n) {
        victim = w;
        break;
      }
      if (this.#used[w] < oldest) {
        oldest = this.#used[w];
        victim = w;
      }
    }
    const old = Atomics.load(hashes, victim);
    const oldTat = Atomics.load(this.#tats, victim);
    if (old === hash || Atomics.compareExchange(hashes, victim, old, hash) !== old) return -1;
    // The new key starts full. Should the evicted key's thread have charged it meanwhile, this
    // fails and the new key inherits that charge: stricter, never looser.
    Atomics.compareExchange(this.#tats, victim, oldTat, 0n);
    this.#used[victim] = now;
    // Another thread may have inserted the same key elsewhere in the set at the same time: the
    // lower entry wins, and whoever claimed the higher one frees it.
    for (let w = base; w < victim; w++)
      if (Atomics.load(hashes, w) === hash) {
        Atomics.compareExchange(hashes, victim, hash, 0n);
        return w;
      }
    return victim;
  }

  #takeAt(at: number, hash: bigint, now: number, maxWaitMs: number): number {
    const tats = this.#tats;
    this.#used[at] = now;
    for (;;) {
      const bits = Atomics.load(tats, at);
      // Read after the tat: an eviction swaps the hash first, so a tat read before it changed is
      // still this key's, and the compare-and-swap below fails if the eviction reset it since.
      if (Atomics.load(this.#hashes, at) !== hash) return RETRY;
      const tat = bitsFloat(bits);
      const wait = gcraWait(tat, now, this.#intervalMs, this.#capacityMs);
      if (wait > maxWaitMs) return -wait;
      const next = floatBits(Math.max(tat, now) + this.#intervalMs);
      if (Atomics.compareExchange(tats, at, bits, next) === bits) return wait;
    }
  }
}
