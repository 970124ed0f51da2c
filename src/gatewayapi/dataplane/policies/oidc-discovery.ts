import { fetchProvider } from './oidc-fetch.ts';
import { ProviderKeys } from './oidc-keys.ts';

// Known endpoints are fetched again this often, in the background (requests keep using them).
const REFRESH_MS = 3_600_000;
// After a failed fetch, the next waits this long, doubling up to the maximum; a success resets it.
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 300_000;

/** What a provider's discovery document says (OpenID Connect Discovery 1.0 §3). */
export interface ProviderEndpoints {
  readonly authorization: string;
  readonly token: string;
  readonly jwks: ProviderKeys;
}

/**
 * An issuer's `/.well-known/openid-configuration`, fetched over HTTPS by the data plane (trusting
 * the policy's CA bundle, or the default CAs) and kept per issuer and bundle across reloads. Until the first success, logins wait for a fetch; a failure is
 * retried with a doubling back-off (requests in between get no endpoints, so 502). Once known, the
 * endpoints are refreshed in the background and a failed refresh keeps them.
 */
export class OIDCDiscovery {
  static readonly #known = new Map<string, OIDCDiscovery>();

  /** The discovery of `issuer`, shared by every policy naming it (and the CAs); starts the first fetch. */
  static of(issuer: string, ca: string | null): OIDCDiscovery {
    const key = `${issuer}\n${ca ?? ''}`;
    let d = OIDCDiscovery.#known.get(key);
    if (d === undefined) {
      OIDCDiscovery.#known.set(key, (d = new OIDCDiscovery(issuer, ca)));
      void d.#refresh(Date.now());
    }
    return d;
  }

  readonly issuer: string;
  readonly #ca: string | null;
  /** The last fetch's failure, for status pages and tests; null after a success. */
  lastError: string | null = null;
  #endpoints: ProviderEndpoints | null = null;
  #fetchedAt = -Infinity;
  #nextAttemptAt = -Infinity;
  #backoffMs = FIRST_BACKOFF_MS;
  #inFlight: Promise<void> | null = null;

  private constructor(issuer: string, ca: string | null) {
    this.issuer = issuer;
    this.#ca = ca;
  }

  /** The endpoints; fetched first when not known yet (and the back-off allows); null: unavailable. */
  async endpoints(nowMs: number): Promise<ProviderEndpoints | null> {
    if (this.#endpoints !== null) {
      if (nowMs - this.#fetchedAt > REFRESH_MS) void this.#refresh(nowMs);
      return this.#endpoints;
    }
    await this.#refresh(nowMs);
    return this.#endpoints;
  }

  #refresh(nowMs: number): Promise<void> {
    if (this.#inFlight !== null) return this.#inFlight;
    if (nowMs < this.#nextAttemptAt) return Promise.resolve();
    this.#inFlight = this.#fetch().finally(() => (this.#inFlight = null));
    return this.#inFlight;
  }

  async #fetch(): Promise<void> {
    const url = `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    try {
      const { status, body } = await fetchProvider(url, { ca: this.#ca });
      if (status !== 200 || body === null)
        throw new Error(`HTTP ${status}${body === null ? ', not a JSON object' : ''}`);
      // The document must name the issuer we asked (Discovery §4.3): another one's keys prove nothing.
      if (body.issuer !== this.issuer)
        throw new Error(`the document's issuer is ${JSON.stringify(body.issuer)}`);
      const authorization = httpsURL(body.authorization_endpoint, 'authorization_endpoint');
      const token = httpsURL(body.token_endpoint, 'token_endpoint');
      const jwksURL = httpsURL(body.jwks_uri, 'jwks_uri');
      const jwks =
        this.#endpoints?.jwks.url === jwksURL ? this.#endpoints.jwks : new ProviderKeys(jwksURL, this.#ca);
      void jwks.refresh(Date.now());
      this.#endpoints = { authorization, token, jwks };
      this.#fetchedAt = Date.now();
      this.#nextAttemptAt = this.#fetchedAt + FIRST_BACKOFF_MS;
      this.#backoffMs = FIRST_BACKOFF_MS;
      this.lastError = null;
    } catch (err) {
      this.lastError = `${url}: ${(err as Error).message}`;
      this.#nextAttemptAt = Date.now() + this.#backoffMs;
      this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
    }
  }
}

function httpsURL(value: unknown, name: string): string {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  if (url === null || url.protocol !== 'https:' || url.username !== '' || url.password !== '')
    throw new Error(`${name} is not an https:// URL`);
  return url.href;
}
