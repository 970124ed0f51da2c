import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { GatewayError } from '../errors.ts';
import type { Identity } from '../request/types.ts';
import { goQuote } from './go-text.ts';
import { decodeClaims, identityFromClaims, peekClaims } from './service-account-claims.ts';

/** Options of `ServiceAccountJWTAuthenticator`. */
export interface ServiceAccountJWTAuthenticatorOptions {
  /** The cluster's `--service-account-issuer` values; tokens of other issuers are not ours. */
  issuers: readonly string[];
  /** The cluster's `--api-audiences` (at least one). */
  audiences: readonly string[];
  /** Fetches the cluster's signing keys, e.g. `GET /openid/v1/jwks`. */
  fetchJWKS: () => Promise<{ keys: JWK[] }>;
  /** Age after which the key set is fetched again (default 5 min). */
  refreshMs?: number;
  /** Least time between two fetches, e.g. for tokens with an unknown `kid` (default 10 s). */
  minRefreshIntervalMs?: number;
  now?: () => number;
}

/** JWKS fetch counters. */
export interface JWKSStats {
  keys: number;
  fetches: number;
  fetchFailures: number;
}

// The algorithms kube-apiserver signs service-account tokens with, and the keys each needs.
const ALGORITHMS: Record<string, { kty: string; crv?: string }> = {
  RS256: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
};

function reject(message: string, cause?: unknown): GatewayError {
  return new GatewayError('KG_UNAUTHENTICATED', 'Unauthorized', message, { cause });
}

/**
 * Verifies bound service-account tokens locally against the cluster's JWKS, mapping them to the
 * identity kube-apiserver would give them. Returns null for tokens that are not ours to judge
 * (another issuer, not a JWT, legacy or webhook-bound tokens, or no key set available), so the
 * chain can ask TokenReview; throws 401 for our tokens that fail verification.
 *
 * Optional because it is weaker than TokenReview: kube-apiserver also looks up the
 * ServiceAccount, and the Pod, Secret or Node a token is bound to, and rejects the token once any
 * of them is gone or replaced (UID mismatch). A local verifier cannot see those deletions, so a
 * token stays valid here until it expires.
 */
export class ServiceAccountJWTAuthenticator {
  readonly issuers: readonly string[];
  readonly audiences: readonly string[];
  readonly refreshMs: number;
  readonly minRefreshIntervalMs: number;
  readonly #fetchJWKS: () => Promise<{ keys: JWK[] }>;
  readonly #now: () => number;
  #keys: readonly JWK[] | null = null;
  #fetchedAt = -Infinity;
  #attemptedAt = -Infinity;
  #refreshing: Promise<void> | null = null;
  #imported = new WeakMap<JWK, Map<string, CryptoKey>>();
  #fetches = 0;
  #fetchFailures = 0;

  constructor(opts: ServiceAccountJWTAuthenticatorOptions) {
    if (opts.issuers.length === 0)
      throw new Error('ServiceAccountJWTAuthenticator needs at least one issuer');
    if (opts.audiences.length === 0)
      throw new Error('ServiceAccountJWTAuthenticator needs at least one audience');
    this.issuers = Object.freeze([...opts.issuers]);
    this.audiences = Object.freeze([...opts.audiences]);
    this.refreshMs = opts.refreshMs ?? 5 * 60_000;
    this.minRefreshIntervalMs = opts.minRefreshIntervalMs ?? 10_000;
    this.#fetchJWKS = opts.fetchJWKS;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * The identity behind `token`; null when the token is not ours to judge (at once, without a
   * promise, when no issuer of ours made it); rejects with a 401 when it is ours and invalid.
   */
  authenticateToken(token: string): Identity | null | Promise<Identity | null> {
    if (!peekClaims(token, this.issuers)) return null;
    return this.#verify(token);
  }

  async #verify(token: string): Promise<Identity | null> {
    let header: { alg?: unknown; kid?: unknown };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return null; // kube-apiserver: a token it cannot parse is not its own
    }
    const alg = typeof header.alg === 'string' ? header.alg : '';
    const kid = typeof header.kid === 'string' ? header.kid : '';

    const keys = await this.#candidates(kid);
    if (keys === null) return null; // no key set at all: let TokenReview decide
    if (keys.length === 0) throw reject('invalid signature, no keys found');

    let payload: Uint8Array | null = null;
    const errors: unknown[] = [];
    for (const jwk of keys) {
      try {
        const key = await this.#import(jwk, alg);
        payload = (await compactVerify(token, key, { algorithms: [alg] })).payload;
        break;
      } catch (err) {
        errors.push(err);
      }
    }
    if (payload === null) throw reject('invalid signature', new AggregateError(errors));

    const claims = decodeClaims(payload);
    if (typeof claims === 'string') throw reject(claims);
    // Same order as kube-apiserver: issuer, audiences, then times and the bound objects.
    if (!this.issuers.includes(claims.iss)) throw reject(`token issuer ${goQuote(claims.iss)} is invalid`);
    const tokenAuds = claims.aud.length > 0 ? claims.aud : this.audiences;
    if (!tokenAuds.some((a) => this.audiences.includes(a))) {
      const q = (l: readonly string[]) => `[${l.map(goQuote).join(' ')}]`;
      throw reject(
        `token audiences ${q(tokenAuds)} is invalid for the target audiences ${q(this.audiences)}`,
      );
    }
    const identity = identityFromClaims(claims, this.#now());
    if (typeof identity === 'string') throw reject(identity);
    return identity;
  }

  /** Counters of the key-set fetches. */
  stats(): JWKSStats {
    return { keys: this.#keys?.length ?? 0, fetches: this.#fetches, fetchFailures: this.#fetchFailures };
  }

  // The keys to try for `kid` (all keys when the token names none), refreshing the set when it
  // is old or does not know `kid`; null when no key set could ever be fetched.
  async #candidates(kid: string): Promise<JWK[] | null> {
    const now = this.#now();
    if (now - this.#fetchedAt > this.refreshMs && this.#mayFetch(now)) await this.#refresh();
    let keys = this.#select(kid);
    if (keys !== null && keys.length === 0 && kid !== '' && this.#mayFetch(this.#now())) {
      await this.#refresh();
      keys = this.#select(kid);
    }
    return keys;
  }

  #select(kid: string): JWK[] | null {
    if (this.#keys === null) return null;
    return this.#keys.filter((k) => kid === '' || k.kid === kid);
  }

  #mayFetch(now: number): boolean {
    return this.#refreshing !== null || now - this.#attemptedAt >= this.minRefreshIntervalMs;
  }

  #refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    this.#attemptedAt = this.#now();
    const p = this.#fetch();
    this.#refreshing = p;
    void p.finally(() => {
      if (this.#refreshing === p) this.#refreshing = null;
    });
    return p;
  }

  async #fetch(): Promise<void> {
    this.#fetches++;
    try {
      const set = await this.#fetchJWKS();
      if (!Array.isArray(set?.keys)) throw new TypeError('JWKS has no "keys" array');
      this.#keys = Object.freeze(set.keys.filter((k) => k !== null && typeof k === 'object'));
      this.#fetchedAt = this.#now();
    } catch {
      this.#fetchFailures++; // keep the keys we have; TokenReview covers the gap when we have none
    }
  }

  async #import(jwk: JWK, alg: string): Promise<CryptoKey> {
    const want = ALGORITHMS[alg];
    if (!want) throw new Error(`unsupported signing algorithm "${alg}"`);
    if (jwk.kty !== want.kty || (want.crv && jwk.crv !== want.crv) || (jwk.alg && jwk.alg !== alg)) {
      throw new Error(`key ${jwk.kid ?? ''} does not fit algorithm ${alg}`);
    }
    if (jwk.use !== undefined && jwk.use !== 'sig')
      throw new Error(`key ${jwk.kid ?? ''} is not a signing key`);
    let byAlg = this.#imported.get(jwk);
    if (!byAlg) this.#imported.set(jwk, (byAlg = new Map()));
    let key = byAlg.get(alg);
    if (!key) {
      key = (await importJWK(jwk, alg)) as CryptoKey;
      byAlg.set(alg, key);
    }
    return key;
  }
}
