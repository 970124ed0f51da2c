// When the kubelet's token manager renews a projected service account token: once 80% of its TTL has
// passed, or once it is 24 hours old, whichever comes first (pkg/kubelet/token requiresRefresh; the
// kubelet adds up to 10 s of jitter, left out here).

export interface CachedToken {
  readonly token: string;
  readonly expirationTimestamp: string;
  /** The TTL asked for (the projection's expirationSeconds, default 3600). */
  readonly expirationSeconds: number;
}

/** Cached tokens by `<volume>/<path>`. */
export type TokenCache = Record<string, CachedToken>;

const MAX_TTL_MS = 24 * 3600 * 1000;

export function tokenRefreshAt(t: CachedToken): Date {
  const exp = Date.parse(t.expirationTimestamp);
  const ttl = t.expirationSeconds * 1000;
  const iat = exp - ttl;
  return new Date(Math.min(exp - Math.floor(ttl / 5), iat + MAX_TTL_MS));
}
