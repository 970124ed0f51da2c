import type { JSONClient } from '../kube/client.ts';
import type { Identity } from '../request/types.ts';
import { backendError } from './backend-error.ts';
import { ExpiringLRU, TokenKeyHasher, type Entry } from './token-cache.ts';
import { freezeIdentity, withAuthenticatedGroup } from './user.ts';

/** The user a TokenReview vouches for (authentication.k8s.io/v1 UserInfo). */
export interface TokenReviewUser {
  username: string;
  uid?: string;
  groups?: readonly string[];
  extra?: Readonly<Record<string, readonly string[]>>;
}

/** The status of a TokenReview. */
export interface TokenReviewResult {
  authenticated: boolean;
  user?: TokenReviewUser;
  audiences?: readonly string[];
  error?: string;
}

/** Asks someone (normally the cluster) whether a bearer token is valid. */
export interface TokenReviewer {
  review(token: string, audiences: readonly string[]): Promise<TokenReviewResult>;
}

/** Options of `TokenReviewAuthenticator`. */
export interface TokenReviewAuthenticatorOptions {
  reviewer: TokenReviewer;
  /** Audiences to request; empty (default) lets the API server apply its own `--api-audiences`. */
  audiences?: readonly string[];
  /** How long a successful review is reused (default 10 s). */
  successTTLMs?: number;
  /** How long a rejected token is remembered (default 1 s). */
  failureTTLMs?: number;
  /** Most cached reviews (default 10 000). */
  maxEntries?: number;
  now?: () => number;
}

/** Counters of a `TokenReviewAuthenticator`, for metrics. */
export interface TokenReviewStats {
  hits: number;
  misses: number;
  /** Reviews sent to the reviewer. */
  reviews: number;
  /** Reviews that failed (backend errors; never cached). */
  errors: number;
  inFlight: number;
  entries: number;
}

// Defaults. Success 10 s: kube-apiserver's own token cache (--token-success-cache-ttl default) and
// the generic apiserver's delegating TokenReview cache. Failure 1 s: kube-apiserver does not cache
// failures itself and the delegating authenticator in effect never does either (the API server
// always sets status.error on rejection, and errors are not cached there); we keep a rejected
// token for a second so a client retrying a bad token cannot turn each request into a review.
const SUCCESS_TTL_MS = 10_000;
const FAILURE_TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;

interface CacheRecord {
  identity: Identity | null;
}

/** Authenticates bearer tokens through TokenReview, with a hashed-key LRU cache and single-flight. */
export class TokenReviewAuthenticator {
  readonly audiences: readonly string[];
  readonly successTTLMs: number;
  readonly failureTTLMs: number;
  readonly #reviewer: TokenReviewer;
  readonly #hasher = new TokenKeyHasher();
  readonly #cache: ExpiringLRU<CacheRecord>;
  readonly #inflight = new Map<string, Promise<Identity | null>>();
  /**
   * The cache entry the last token of a connection found, so the next request with the same
   * token on that connection skips the HMAC; it holds exactly as long as the entry does. Kept
   * only while the connection lives (a WeakMap of it), and replaced when its token changes.
   */
  readonly #byConnection = new WeakMap<object, { token: string; entry: Entry<CacheRecord> }>();
  #hits = 0;
  #misses = 0;
  #reviews = 0;
  #errors = 0;

  constructor(opts: TokenReviewAuthenticatorOptions) {
    this.#reviewer = opts.reviewer;
    this.audiences = Object.freeze([...(opts.audiences ?? [])]);
    this.successTTLMs = opts.successTTLMs ?? SUCCESS_TTL_MS;
    this.failureTTLMs = opts.failureTTLMs ?? FAILURE_TTL_MS;
    this.#cache = new ExpiringLRU(opts.maxEntries ?? MAX_ENTRIES, opts.now);
  }

  /**
   * The identity behind `token`, or null when the reviewer rejects it; rejects with KG_AUTH_BACKEND
   * on backend failure. A cached answer comes without a promise.
   */
  authenticateToken(token: string, connection?: object): Identity | null | Promise<Identity | null> {
    if (connection !== undefined) {
      const m = this.#byConnection.get(connection);
      if (m !== undefined && m.token === token && this.#cache.isLive(m.entry)) {
        this.#hits++;
        return m.entry.value.identity;
      }
    }
    const key = this.#hasher.key(token, this.audiences);
    const entry = this.#cache.entry(key);
    if (entry !== undefined) {
      this.#hits++;
      if (connection !== undefined) this.#byConnection.set(connection, { token, entry });
      return entry.value.identity;
    }
    this.#misses++;
    let flight = this.#inflight.get(key);
    if (flight === undefined) {
      const p = this.#review(key, token);
      flight = p;
      this.#inflight.set(key, p);
      const done = (): void => {
        if (this.#inflight.get(key) === p) this.#inflight.delete(key);
      };
      p.then(done, done);
    }
    return flight;
  }

  async #review(key: string, token: string): Promise<Identity | null> {
    this.#reviews++;
    let result: TokenReviewResult;
    try {
      result = await this.#reviewer.review(token, this.audiences);
    } catch (err) {
      this.#errors++;
      throw backendError('token review', err);
    }
    const identity = this.#identity(result);
    const ttl = identity ? this.successTTLMs : this.failureTTLMs;
    if (ttl > 0) this.#cache.set(key, { identity }, ttl);
    return identity;
  }

  #identity(result: TokenReviewResult): Identity | null {
    if (!result.authenticated || !result.user) return null;
    if (this.audiences.length > 0) {
      // As the webhook token authenticator: a status without audiences means the implicit ones.
      const got = result.audiences?.length ? result.audiences : this.audiences;
      if (!this.audiences.some((a) => got.includes(a))) return null;
    }
    const u = result.user;
    // An empty user name cannot be impersonated upstream (it would mean "no impersonation").
    if (typeof u.username !== 'string' || u.username === '') return null;
    const extra: Record<string, readonly string[]> = {};
    for (const [k, v] of Object.entries(u.extra ?? {})) {
      if (Array.isArray(v)) extra[k] = v.filter((x) => typeof x === 'string');
    }
    return withAuthenticatedGroup(
      freezeIdentity({
        user: u.username,
        uid: typeof u.uid === 'string' ? u.uid : '',
        groups: Array.isArray(u.groups) ? u.groups.filter((g) => typeof g === 'string') : [],
        extra,
      }),
    );
  }

  /** A snapshot of the counters. */
  stats(): TokenReviewStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      reviews: this.#reviews,
      errors: this.#errors,
      inFlight: this.#inflight.size,
      entries: this.#cache.size,
    };
  }

  /** The cache keys held (HMACs, never tokens), for diagnostics and tests. */
  cachedKeys(): string[] {
    return this.#cache.keys();
  }
}

/** A `TokenReviewer` that creates `authentication.k8s.io/v1` TokenReviews with the gateway's credential. */
export function kubeTokenReviewer(client: JSONClient): TokenReviewer {
  return {
    async review(token, audiences) {
      const spec: { token: string; audiences?: string[] } = { token };
      if (audiences.length > 0) spec.audiences = [...audiences];
      const res = await client.json<{ status?: Partial<TokenReviewResult> } | null>(
        'POST',
        '/apis/authentication.k8s.io/v1/tokenreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec },
      );
      const s = res?.status ?? {};
      return {
        authenticated: s.authenticated === true,
        user: s.user,
        audiences: s.audiences,
        error: s.error,
      };
    },
  };
}
