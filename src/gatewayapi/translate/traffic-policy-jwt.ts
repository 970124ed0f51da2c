// The `jwt` field of a TrafficPolicy: providers with their public keys read from a Secret's JWKS.
// Whatever is wrong is a Problem and the provider still applies, closed: a key that does not parse
// (or a symmetric or private one) is dropped, a missing Secret leaves no keys, so no token verifies.

import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JWTAuthIR, JWTProviderIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { parseDuration } from './durations.ts';
import { arr, rec, str, strs, text } from './read.ts';
import { FRAMING_HEADERS, HEADER_NAME, readClaimsToHeaders } from './header-names.ts';

/** The Secret key the JWKS is read from when `jwks.secretRef.key` is not given. */
export const DEFAULT_JWKS_KEY = 'jwks';
// Only the public members of a JWK reach the IR (RFC 7517, 7518, 8037).
const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'use', 'crv', 'n', 'e', 'x', 'y'] as const;
// Headers a claim must never be copied into: they steer routing, framing or the gateway itself.
const RESERVED_HEADERS = new Set([...FRAMING_HEADERS, 'authorization', 'cookie']);

/** Reads `spec.jwt`; `secretData(field, ref)` resolves a secretRef in the policy's namespace. */
export function readJWT(
  raw: unknown,
  secretData: (field: string, ref: unknown) => Record<string, string> | null,
  problems: Problem[],
): JWTAuthIR {
  const j = rec(raw);
  const header = (text(j.headerName) ?? 'authorization').toLowerCase();
  const query = text(j.queryParam) ?? null;
  if (!HEADER_NAME.test(header))
    problems.push({ reason: 'Invalid', message: `jwt.headerName ${header} is not a header name.` });
  const providers = arr(j.providers).map((p, n) =>
    readProvider(p, `jwt.providers[${n}]`, secretData, problems),
  );
  if (providers.length === 0) problems.push({ reason: 'Invalid', message: 'jwt.providers is empty.' });
  return {
    providers: HEADER_NAME.test(header) ? providers : [],
    header: HEADER_NAME.test(header) ? header : 'authorization',
    queryParam: query,
  };
}

function readProvider(
  raw: unknown,
  field: string,
  secretData: (field: string, ref: unknown) => Record<string, string> | null,
  problems: Problem[],
): JWTProviderIR {
  const p = rec(raw);
  const issuer = text(p.issuer) ?? '';
  if (issuer === '') problems.push({ reason: 'Invalid', message: `${field}.issuer is missing.` });
  const jwks = rec(p.jwks);
  const keys: Record<string, unknown>[] = [];
  let remote: JWTProviderIR['remote'];
  if (jwks.remote !== undefined && jwks.secretRef !== undefined)
    problems.push({ reason: 'Invalid', message: `${field}.jwks: set one of secretRef and remote.` });
  else if (jwks.remote !== undefined) remote = readRemote(rec(jwks.remote), `${field}.jwks.remote`, problems);
  else if (jwks.secretRef === undefined)
    problems.push({ reason: 'Invalid', message: `${field}.jwks.secretRef or remote is missing.` });
  else {
    const data = secretData(`${field}.jwks`, jwks.secretRef);
    const key = text(rec(jwks.secretRef).key) ?? DEFAULT_JWKS_KEY;
    const json = data?.[key];
    if (data !== null && json === undefined)
      problems.push({ reason: 'Invalid', message: `${field}.jwks: the Secret has no key ${key}.` });
    else if (json !== undefined) keys.push(...readJWKS(json, `${field}.jwks`, problems));
  }
  const claimsToHeaders = readClaimsToHeaders(
    arr(p.claimsToHeaders),
    (h) => !RESERVED_HEADERS.has(h),
    (message) => problems.push({ reason: 'Invalid', message }),
    `${field}.`,
  );
  const requiredClaims: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [claim, values] of Object.entries(rec(p.requiredClaims))) requiredClaims[claim] = strs(values);
  return {
    issuer,
    audiences: strs(p.audiences),
    // No issuer: no token can name this provider, so it admits nobody.
    keys: issuer === '' ? [] : keys,
    ...(remote === undefined || issuer === '' ? {} : { remote }),
    claimsToHeaders,
    requiredClaims,
  };
}

/** `url` (https only: the keys decide who gets in) and `refreshInterval` (default 5m). */
function readRemote(
  r: Readonly<Record<string, unknown>>,
  field: string,
  problems: Problem[],
): JWTProviderIR['remote'] {
  const url = URL.parse(str(r.url) ?? '');
  const interval = r.refreshInterval === undefined ? 300_000 : parseDuration(str(r.refreshInterval) ?? '');
  if (url === null || url.protocol !== 'https:' || url.username !== '' || url.password !== '') {
    problems.push({
      reason: 'Invalid',
      message: `${field}.url must be an https:// URL without credentials.`,
    });
    return undefined;
  }
  if (interval === null || interval < 1000) {
    problems.push({
      reason: 'Invalid',
      message: `${field}.refreshInterval must be a duration of at least 1s.`,
    });
    return { url: url.href, refreshMs: 300_000 };
  }
  return { url: url.href, refreshMs: interval };
}

/** The public keys of a JWKS document; symmetric, private and unreadable keys are Problems and dropped. */
export function readJWKS(json: string, field: string, problems: Problem[]): Record<string, unknown>[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    problems.push({ reason: 'Invalid', message: `${field}: not JSON.` });
    return [];
  }
  const keys: Record<string, unknown>[] = [];
  const bad: string[] = [];
  arr(rec(doc).keys).forEach((k, n) => {
    const jwk = rec(k);
    const name = str(jwk.kid) ?? `#${n}`;
    // A private key in a JWKS is a leak and `oct` keys are shared secrets: neither is a verification key here.
    if (jwk.d !== undefined || jwk.kty === 'oct') return bad.push(name);
    const pub: Record<string, unknown> = {};
    for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) pub[m] = jwk[m];
    try {
      createPublicKey({ key: pub as JsonWebKey, format: 'jwk' });
      keys.push(pub);
    } catch {
      bad.push(name);
    }
  });
  if (bad.length > 0)
    problems.push({
      reason: 'Invalid',
      message: `${field}: keys ${bad.slice(0, 5).join(', ')} are not public RSA, EC or OKP keys.`,
    });
  if (keys.length === 0 && bad.length === 0)
    problems.push({ reason: 'Invalid', message: `${field}: the JWKS has no keys.` });
  return keys;
}
