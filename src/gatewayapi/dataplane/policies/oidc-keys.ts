import { verificationKeys, type VerificationKey } from './jwks.ts';
import { fetchProvider } from './oidc-fetch.ts';

// Keys are fetched again this often, or for an ID token whose `kid` is unknown (a rotation), but
// never more than once per MIN_INTERVAL_MS.
const REFRESH_MS = 300_000;
const MIN_INTERVAL_MS = 10_000;

/**
 * A provider's JWKS (its discovery's `jwks_uri`), fetched like `jwt`'s `jwks.remote` but with the
 * policy's CA bundle. A failed fetch keeps the last good keys; until a first success there are none.
 */
export class ProviderKeys {
  readonly url: string;
  /** The last fetch's failure, for logs and tests; null after a success. */
  lastError: string | null = null;
  readonly #ca: string | null;
  #keys: readonly VerificationKey[] = [];
  #fetchedAt = -Infinity;
  #attemptedAt = -Infinity;
  #inFlight: Promise<void> | null = null;

  constructor(url: string, ca: string | null) {
    this.url = url;
    this.#ca = ca;
  }

  /** The last good keys; starts a background refresh when they are old. */
  keys(nowMs: number): readonly VerificationKey[] {
    if (nowMs - this.#fetchedAt > REFRESH_MS) void this.refresh(nowMs);
    return this.#keys;
  }

  /** Fetches the set unless a fetch is running or the last one began under 10 s ago. */
  refresh(nowMs: number): Promise<void> {
    if (this.#inFlight !== null) return this.#inFlight;
    if (nowMs - this.#attemptedAt < MIN_INTERVAL_MS) return Promise.resolve();
    this.#attemptedAt = nowMs;
    this.#inFlight = this.#fetch().finally(() => (this.#inFlight = null));
    return this.#inFlight;
  }

  async #fetch(): Promise<void> {
    try {
      const { status, body } = await fetchProvider(this.url, { ca: this.#ca });
      if (status !== 200) throw new Error(`HTTP ${status}`);
      const keys = verificationKeys(Array.isArray(body?.keys) ? body.keys : []);
      if (keys.length === 0) throw new Error('no usable keys');
      this.#keys = keys;
      this.#fetchedAt = Date.now();
      this.lastError = null;
    } catch (err) {
      this.lastError = `${this.url}: ${(err as Error).message}`;
    }
  }
}
