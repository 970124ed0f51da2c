// The `oidc` field of a TrafficPolicy: OpenID Connect login (authorization code with PKCE) and a
// session cookie. Whatever is wrong is a Problem and the field still applies, closed: without an
// issuer, a client secret or a cookie key, no login can succeed and every request without a
// session gets 401.

import { hkdfSync, X509Certificate } from 'node:crypto';
import type { OIDCIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { parseDuration } from './durations.ts';
import { arr, rec, str, text } from './read.ts';
import { FRAMING_HEADERS, HEADER_NAME, readClaimsToHeaders } from './header-names.ts';

/** The Secret key the client secret is read from when `clientSecretRef.key` is not given. */
export const CLIENT_SECRET_KEY = 'client-secret';
/** The Secret key the CA bundle is read from when `caCertificateRef.key` is not given. */
export const CA_KEY = 'ca.crt';
/** The Secret key the cookie secret is read from when `cookieSecretRef.key` is not given. */
export const COOKIE_SECRET_KEY = 'cookie-secret';
const DEFAULT_REDIRECT_PATH = '/oauth2/callback';
const DEFAULT_COOKIE_NAME = 'kubegate-session';
const DEFAULT_TTL_MS = 3_600_000;
const MIN_COOKIE_SECRET = 32;
// RFC 6265 cookie-name (an RFC 7230 token).
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
// A path the gateway answers itself: absolute, visible ASCII, no query or fragment.
const PATH = /^\/[\x21-\x22\x24-\x3e\x40-\x7e]{0,1023}$/;
// RFC 6749 §3.3 scope-token.
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
// Headers a claim or the ID token must never go into: they steer routing, framing or the gateway.
const RESERVED_HEADERS = new Set([...FRAMING_HEADERS, 'cookie']);

/** Reads `spec.oidc`; `secretData(field, ref)` resolves a secretRef in the policy's namespace. */
export function readOIDC(
  raw: unknown,
  secretData: (field: string, ref: unknown) => Record<string, string> | null,
  problems: Problem[],
): OIDCIR {
  const o = rec(raw);
  const invalid = (message: string) => problems.push({ reason: 'Invalid', message: `oidc.${message}` });

  const url = URL.parse(str(o.issuer) ?? '');
  let issuer = str(o.issuer) ?? '';
  if (
    url === null ||
    url.protocol !== 'https:' ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    invalid('issuer must be an https:// URL without credentials, query or fragment.');
    issuer = '';
  }
  const clientID = text(o.clientID) ?? '';
  if (clientID === '') invalid('clientID is missing.');

  const clientSecret = secretValue(
    o.clientSecretRef,
    'clientSecretRef',
    CLIENT_SECRET_KEY,
    secretData,
    invalid,
  );
  let cookieSecret = clientSecret;
  if (o.cookieSecretRef !== undefined) {
    cookieSecret = secretValue(o.cookieSecretRef, 'cookieSecretRef', COOKIE_SECRET_KEY, secretData, invalid);
    if (cookieSecret !== '' && Buffer.byteLength(cookieSecret) < MIN_COOKIE_SECRET) {
      invalid(`cookieSecretRef: the secret must be at least ${MIN_COOKIE_SECRET} bytes.`);
      cookieSecret = '';
    }
  }

  let caCertificates: string | null = null;
  if (o.caCertificateRef !== undefined) {
    const pem = secretValue(o.caCertificateRef, 'caCertificateRef', CA_KEY, secretData, invalid);
    if (pem !== '' && certificates(pem)) caCertificates = pem;
    else if (pem !== '') invalid('caCertificateRef: not PEM certificates.');
    // Closed: a bundle that is missing or unreadable trusts no provider.
    if (caCertificates === null) issuer = '';
  }

  const redirectPath = str(o.redirectPath) ?? DEFAULT_REDIRECT_PATH;
  if (!PATH.test(redirectPath)) invalid('redirectPath must be an absolute path without query or fragment.');
  let logoutPath = str(o.logoutPath) ?? null;
  if (logoutPath !== null && (!PATH.test(logoutPath) || logoutPath === redirectPath)) {
    invalid('logoutPath must be an absolute path without query or fragment, other than redirectPath.');
    logoutPath = null;
  }

  const scopes = o.scopes === undefined ? ['openid'] : arr(o.scopes).map((s) => str(s) ?? '');
  const badScopes = scopes.filter((s) => !SCOPE.test(s));
  if (badScopes.length > 0)
    invalid(
      `scopes: ${badScopes
        .slice(0, 3)
        .map((s) => JSON.stringify(s))
        .join(', ')} are not scope tokens.`,
    );
  const goodScopes = [...new Set(scopes.filter((s) => SCOPE.test(s)))];
  // OpenID Connect requests must ask for `openid` (OIDC Core §3.1.2.1).
  if (!goodScopes.includes('openid')) goodScopes.unshift('openid');

  const cookieName = str(o.cookieName) ?? DEFAULT_COOKIE_NAME;
  if (!COOKIE_NAME.test(cookieName))
    invalid(`cookieName ${JSON.stringify(cookieName)} is not a cookie name.`);

  let sessionTTLMs = DEFAULT_TTL_MS;
  if (o.sessionTTL !== undefined) {
    const ttl = parseDuration(str(o.sessionTTL) ?? '');
    if (ttl === null || ttl < 1000) invalid('sessionTTL must be a duration of at least 1s.');
    else sessionTTLMs = ttl;
  }

  let forwardIDToken: string | null = null;
  if (o.forwardIDToken !== undefined) {
    const h = text(rec(o.forwardIDToken).header)?.toLowerCase();
    if (h === undefined || !HEADER_NAME.test(h) || RESERVED_HEADERS.has(h))
      invalid(`forwardIDToken.header ${String(h)} is not an allowed header name.`);
    else forwardIDToken = h;
  }

  const claimsToHeaders = readClaimsToHeaders(
    arr(o.claimsToHeaders),
    (h) => !RESERVED_HEADERS.has(h) && h !== 'authorization' && h !== forwardIDToken,
    invalid,
    '',
  );

  const usable = issuer !== '' && clientID !== '' && PATH.test(redirectPath) && COOKIE_NAME.test(cookieName);
  return {
    issuer: usable ? issuer : '',
    clientID,
    clientSecret: usable ? clientSecret : '',
    redirectPath: PATH.test(redirectPath) ? redirectPath : DEFAULT_REDIRECT_PATH,
    logoutPath,
    scopes: goodScopes,
    caCertificates,
    cookieName: COOKIE_NAME.test(cookieName) ? cookieName : DEFAULT_COOKIE_NAME,
    cookieKey: usable && cookieSecret !== '' ? cookieKey(cookieSecret, issuer, clientID, cookieName) : '',
    sessionTTLMs,
    forwardIDToken,
    claimsToHeaders,
  };
}

/** The value of a secretRef's key; '' (and a Problem) when the Secret or key is missing or empty. */
function secretValue(
  ref: unknown,
  field: string,
  defaultKey: string,
  secretData: (field: string, ref: unknown) => Record<string, string> | null,
  invalid: (message: string) => void,
): string {
  if (ref === undefined) {
    invalid(`${field} is missing.`);
    return '';
  }
  const data = secretData(`oidc.${field}`, ref);
  if (data === null) return '';
  const key = text(rec(ref).key) ?? defaultKey;
  const value = data[key]?.trim() ?? '';
  if (value === '') invalid(`${field}: the Secret has no key ${key}, or it is empty.`);
  return value;
}

/** True when `pem` holds certificates node:crypto can read (each of them). */
function certificates(pem: string): boolean {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  try {
    for (const b of blocks) new X509Certificate(b);
    return blocks.length > 0;
  } catch {
    return false;
  }
}

/**
 * The key the session cookie and the login state are sealed with: HKDF-SHA256 of the secret, bound
 * to the issuer, client and cookie name, so a cookie of one policy is worthless to another.
 */
function cookieKey(secret: string, issuer: string, clientID: string, cookieName: string): string {
  const info = `kubegate oidc session\n${issuer}\n${clientID}\n${cookieName}`;
  return Buffer.from(hkdfSync('sha256', secret, 'kubegate.io/oidc', info, 32)).toString('base64');
}
