import { createHmac, createSecretKey, randomBytes } from 'node:crypto';

/**
 * The cache key of a token review: HMAC-SHA256 under a random per-process key of the
 * length-prefixed token and audiences, as kube-apiserver's cached token authenticator does. The
 * raw token is never kept; the secret key stops precomputed lookups and hash-flooding.
 */
export class TokenKeyHasher {
  // A KeyObject: createHmac with a raw Buffer would import the key again on every call.
  readonly #secret = createSecretKey(randomBytes(32));

  key(token: string, audiences: readonly string[]): string {
    const h = createHmac('sha256', this.#secret);
    const len = Buffer.alloc(4);
    const write = (s: string): void => {
      const b = Buffer.from(s, 'utf8');
      len.writeUInt32BE(b.length);
      h.update(len).update(b);
    };
    write(token);
    len.writeUInt32BE(audiences.length);
    h.update(len);
    for (const aud of audiences) write(aud);
    return h.digest('base64url');
  }
}

/** One cached value; `live` turns false when it is replaced, deleted, evicted or found expired. */
export interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
  live: boolean;
}

/** A size-bounded LRU map whose entries also expire after their own TTL. */
export class ExpiringLRU<V> {
  readonly maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry<V>>();

  constructor(maxEntries: number, now: () => number = Date.now) {
    if (!(maxEntries >= 1)) throw new RangeError(`maxEntries must be at least 1, got ${maxEntries}`);
    this.maxEntries = maxEntries;
    this.#now = now;
  }

  /** The live value for `key`, marking it most recently used. */
  get(key: string): V | undefined {
    return this.entry(key)?.value;
  }

  /** The live entry for `key`, marking it most recently used. */
  entry(key: string): Entry<V> | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key);
    if (!this.isLive(e)) return undefined;
    this.#entries.set(key, e);
    return e;
  }

  /** Whether an entry handed out earlier still holds (not replaced, deleted, evicted or expired). */
  isLive(e: Entry<V>): boolean {
    // Like k8s.io/apimachinery's Expiring cache, an entry is still valid at its expiry instant.
    if (e.live && this.#now() > e.expiresAt) e.live = false;
    return e.live;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.delete(key);
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs, live: true });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    e.live = false;
    this.#entries.delete(key);
  }

  /** Entries held, including expired ones not yet evicted. */
  get size(): number {
    return this.#entries.size;
  }

  /** The keys held, least recently used first (diagnostics and tests). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }
}
