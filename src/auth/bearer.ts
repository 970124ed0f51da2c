import { fromHeaderValue, goTrimSpace } from './go-text.ts';

/** What an `Authorization` header offers, read like kube-apiserver's bearertoken authenticator. */
export interface BearerCredential {
  /** The token, or null when the header offers no (non-empty) bearer token. */
  token: string | null;
  /** A warning kube-apiserver would return (`Warning: 299 - ...`), if any. */
  warning?: string;
}

const EXTRA_SPACE_WARNING =
  'the provided Authorization header contains extra space before the bearer token, and is ignored';

/**
 * Parses the raw `Authorization` header value (as Node exposes it): trimmed, split on single
 * spaces into at most three parts, scheme `bearer` in any case, token = the second part (anything
 * after a third space is ignored). An empty token is no credential at all, not a failure, so
 * anonymous access may still apply; `Bearer  x` (two spaces) earns a warning.
 */
export function parseBearer(authorization: string | undefined): BearerCredential {
  const auth = goTrimSpace(fromHeaderValue(authorization ?? ''));
  if (auth === '') return { token: null };
  const first = auth.indexOf(' ');
  if (first < 0 || auth.slice(0, first).toLowerCase() !== 'bearer') return { token: null };
  const rest = auth.slice(first + 1);
  const second = rest.indexOf(' ');
  const token = second < 0 ? rest : rest.slice(0, second);
  if (token === '') return second < 0 ? { token: null } : { token: null, warning: EXTRA_SPACE_WARNING };
  return { token };
}
