import { verificationKeys, type VerificationKey } from './jwks.ts';

// A JWKS document larger than this is refused (a key set is a few KiB).
const MAX_BYTES = 1 << 20;
const FETCH_TIMEOUT_MS = 10_000;
// Least time between two fetches of one URL (or the refresh interval, if shorter), so tokens with
// unknown kids cannot make us hammer it.
const MIN_INTERVAL_MS = 10_000;

/**
 * A JWKS fetched over HTTPS (certificate verified by the default CAs, redirects refused), kept per
 * URL across reloads. Requests never wait for it: they use the last good keys, and a stale set (or
 * an unknown `kid`) starts a refresh in the background. A failed fetch keeps the last good keys;
 * until the first success there are none, so every token is refused.
 */
export class RemoteJWKS {
  static readonly #byURL = new Map<string, RemoteJWKS>();

  /** The set for `url`, shared by every provider naming it; the shortest refresh interval wins. */
  static of(url: string, refreshMs: number): RemoteJWKS {
    let r = RemoteJWKS.#byURL.get(url);
    if (r === undefined) RemoteJWKS.#byURL.set(url, (r = new RemoteJWKS(url)));
    r.#refreshMs = Math.min(r.#refreshMs, refreshMs);
    r.refresh(Date.now(), false);
    return r;
  }

  readonly url: string;
  /** The last fetch's failure, for status pages and tests; null after a success. */
  lastError: string | null = null;
  #keys: readonly VerificationKey[] = [];
  #refreshMs = Infinity;
  #fetchedAt = -Infinity;
  #attemptedAt = -Infinity;
  #inFlight: Promise<void> | null = null;

  private constructor(url: string) {
    this.url = url;
  }

  /** The last good keys; starts a background refresh when they are older than the interval. */
  keys(nowMs: number): readonly VerificationKey[] {
    if (nowMs - this.#fetchedAt > this.#refreshMs) this.refresh(nowMs, false);
    return this.#keys;
  }

  /** Starts a fetch unless one is running or the last began too recently; `force`: stale or not. */
  refresh(nowMs: number, force: boolean): Promise<void> {
    if (this.#inFlight !== null) return this.#inFlight;
    if (nowMs - this.#attemptedAt < Math.min(MIN_INTERVAL_MS, this.#refreshMs)) return Promise.resolve();
    if (!force && nowMs - this.#fetchedAt <= this.#refreshMs) return Promise.resolve();
    this.#attemptedAt = nowMs;
    this.#inFlight = this.#fetch().finally(() => (this.#inFlight = null));
    return this.#inFlight;
  }

  async #fetch(): Promise<void> {
    try {
      const res = await fetch(this.url, {
        redirect: 'error',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        headers: { accept: 'application/json' },
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      if (Number(res.headers.get('content-length') ?? 0) > MAX_BYTES) {
        await res.body?.cancel();
        throw new Error('larger than 1 MiB');
      }
      const text = await res.text();
      if (text.length > MAX_BYTES) throw new Error('larger than 1 MiB');
      const doc: unknown = JSON.parse(text);
      const raw = (doc as { keys?: unknown } | null)?.keys;
      const keys = verificationKeys(Array.isArray(raw) ? raw : []);
      if (keys.length === 0) throw new Error('no usable keys');
      this.#keys = keys;
      this.#fetchedAt = Date.now();
      this.lastError = null;
    } catch (err) {
      // The last good keys stay; the next stale request or unknown kid tries again.
      // fetch() says only "fetch failed"; the cause says why (a certificate, a refused connection).
      const e = err as Error & { cause?: Error };
      this.lastError = e.cause?.message === undefined ? e.message : `${e.message}: ${e.cause.message}`;
    }
  }
}
