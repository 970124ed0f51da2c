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

interface Entry<V> {
  value: V;
  expiresAt: number;
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
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    // Like k8s.io/apimachinery's Expiring cache, an entry is still valid at its expiry instant.
    if (this.#now() > e.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
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
