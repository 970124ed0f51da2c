import { constants, verify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { JWTAuthIR, JWTProviderIR } from '../../ir.ts';
import type { Denial } from './denial.ts';
import { verificationKeys, type VerificationKey } from './jwks.ts';
import { RemoteJWKS } from './remote-jwks.ts';

// Anything longer is refused unread: no decoding, no JSON, no signature check.
const MAX_TOKEN = 8192;
const LEEWAY_S = 60;
// A token whose signature was verified is not verified again for this long (a key dropped from a
// remote set stops being accepted within it), in a cache of at most this many tokens.
const VERIFIED_TTL_MS = 30_000;
const MAX_VERIFIED = 4096;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
// A claim value copied into a header: visible ASCII and spaces only (no CR/LF, no controls).
const HEADER_VALUE = /^[\x20-\x7e]{0,4096}$/;

const MISSING: Denial = {
  status: 401,
  text: 'unauthorized: missing token',
  headers: { 'www-authenticate': 'Bearer' },
};
const INVALID: Denial = {
  status: 401,
  text: 'unauthorized: invalid token',
  headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
};
const FORBIDDEN: Denial = {
  status: 403,
  text: 'forbidden: a required claim is missing',
  headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' },
};

interface Algorithm {
  readonly kty: string;
  readonly crv?: readonly string[];
  readonly hash: string | null;
  readonly pss?: true;
  /** Bytes of an ECDSA signature (r || s). */
  readonly ecLength?: number;
}

// The algorithms a token may name (RFC 7518, 8037). `none` and HS* are absent: a public key is not
// an HMAC secret (algorithm confusion), and an unsigned token proves nothing.
const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', pss: true },
  ES256: { kty: 'EC', crv: ['P-256'], hash: 'sha256', ecLength: 64 },
  ES384: { kty: 'EC', crv: ['P-384'], hash: 'sha384', ecLength: 96 },
  EdDSA: { kty: 'OKP', crv: ['Ed25519', 'Ed448'], hash: null },
};

interface Provider {
  readonly ir: JWTProviderIR;
  readonly keys: readonly VerificationKey[];
  readonly remote: RemoteJWKS | null;
}

/** The outcome of a token check: a refusal, or the headers its verified claims give. */
export type JWTResult =
  | Denial
  | {
      readonly headers: readonly (readonly [string, string])[];
      /** The verified token's claims (a rate limit may be keyed by one). */
      readonly claims: Readonly<Record<string, unknown>>;
    };

/** JWT bearer tokens (RFC 7519) verified against the providers' public keys, synchronously. */
export class JWTAuth {
  /** Every header a claim may be copied into: a client's own copy is always removed. */
  readonly claimHeaders: readonly string[];
  readonly #header: string;
  readonly #bearer: boolean;
  readonly #query: string | null;
  readonly #providers: ReadonlyMap<string, Provider>;
  /** Tokens whose signature a provider's key verified, oldest first. */
  readonly #verified = new Map<
    string,
    { claims: Record<string, unknown>; provider: Provider; until: number }
  >();

  constructor(j: JWTAuthIR) {
    this.#header = j.header;
    this.#bearer = j.header === 'authorization';
    this.#query = j.queryParam;
    const providers = new Map<string, Provider>();
    for (const p of j.providers) if (!providers.has(p.issuer)) providers.set(p.issuer, compile(p));
    this.#providers = providers;
    this.claimHeaders = [...new Set(j.providers.flatMap((p) => p.claimsToHeaders.map((c) => c.header)))];
  }

  /** Checks the request's token: signature, issuer, audience, times, required claims. */
  check(req: IncomingMessage, nowS: number): JWTResult {
    const token = this.#token(req);
    if (token === null) return MISSING;
    if (token.length > MAX_TOKEN) return INVALID;
    const v = this.#signed(token, nowS * 1000);
    if (v === null) return INVALID;
    const { claims, provider } = v;
    if (!timely(claims, nowS) || !audienceOk(provider.ir.audiences, claims.aud)) return INVALID;
    for (const [claim, allowed] of Object.entries(provider.ir.requiredClaims))
      if (!holds(claims[claim], allowed)) return FORBIDDEN;
    const headers: [string, string][] = [];
    for (const { claim, header: name } of provider.ir.claimsToHeaders) {
      const v = claims[claim];
      const s = typeof v === 'string' ? v : v === undefined || v === null ? null : JSON.stringify(v);
      if (s !== null && HEADER_VALUE.test(s)) headers.push([name, s]);
    }
    return { headers, claims };
  }

  /** The claims and provider of a token one of that provider's keys signed; null otherwise. */
  #signed(token: string, nowMs: number): { claims: Record<string, unknown>; provider: Provider } | null {
    const hit = this.#verified.get(token);
    if (hit !== undefined && hit.until > nowMs) return hit;
    if (hit !== undefined) this.#verified.delete(token);
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((s) => SEGMENT.test(s))) return null;
    const header = json(parts[0]);
    const claims = json(parts[1]);
    if (header === null || claims === null) return null;
    const alg = typeof header.alg === 'string' ? ALGORITHMS[header.alg] : undefined;
    // `crit` names extensions the token says we must understand; we understand none.
    if (alg === undefined || !Object.hasOwn(ALGORITHMS, header.alg as string) || header.crit !== undefined)
      return null;
    const provider = typeof claims.iss === 'string' ? this.#providers.get(claims.iss) : undefined;
    if (provider === undefined || !verified(provider, header, alg, parts)) return null;
    if (this.#verified.size >= MAX_VERIFIED) this.#verified.delete(this.#verified.keys().next().value!);
    const entry = { claims, provider, until: nowMs + VERIFIED_TTL_MS };
    this.#verified.set(token, entry);
    return entry;
  }

  #token(req: IncomingMessage): string | null {
    const h = req.headers[this.#header];
    if (h !== undefined) {
      // A repeated header (two tokens) is refused rather than guessed at.
      if (typeof h !== 'string') return '';
      if (!this.#bearer) return h.trim();
      const space = h.indexOf(' ');
      return space > 0 && h.slice(0, space).toLowerCase() === 'bearer' ? h.slice(space + 1).trim() : '';
    }
    if (this.#query === null) return null;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (q < 0) return null;
    const values = new URLSearchParams(url.slice(q + 1)).getAll(this.#query);
    return values.length === 0 ? null : values.length === 1 ? values[0] : '';
  }
}

/**
 * The claims of a compact JWS that one of `keys` (or of `remote`'s set) signed, checked as `jwt`
 * checks a token's signature (the same algorithms, `kid`, `crit` and key rules); null otherwise.
 * Issuer, audience and times are the caller's to check.
 */
export function verifiedClaims(
  token: string,
  keys: readonly VerificationKey[],
  remote: RemoteJWKS | null,
): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((s) => SEGMENT.test(s))) return null;
  const header = json(parts[0]);
  const claims = json(parts[1]);
  if (header === null || claims === null || typeof header.alg !== 'string') return null;
  if (!Object.hasOwn(ALGORITHMS, header.alg) || header.crit !== undefined) return null;
  return verified({ keys, remote }, header, ALGORITHMS[header.alg], parts) ? claims : null;
}

function compile(p: JWTProviderIR): Provider {
  const remote = p.remote === undefined ? null : RemoteJWKS.of(p.remote.url, p.remote.refreshMs);
  return { ir: p, keys: verificationKeys(p.keys), remote };
}

function json(segment: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function verified(
  p: Pick<Provider, 'keys' | 'remote'>,
  header: Record<string, unknown>,
  alg: Algorithm,
  parts: string[],
): boolean {
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== 'string') return false;
  const signature = Buffer.from(parts[2], 'base64url');
  if (alg.ecLength !== undefined && signature.length !== alg.ecLength) return false;
  const data = Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii');
  const now = Date.now();
  const keys = p.remote === null ? p.keys : p.remote.keys(now);
  // A kid the remote set does not know may be a rotated-in key: fetch again (rate-limited).
  if (p.remote !== null && kid !== undefined && !keys.some((k) => k.jwk.kid === kid))
    void p.remote.refresh(now, true);
  for (const k of keys) {
    const j = k.jwk;
    if (kid !== undefined && j.kid !== kid) continue;
    if (j.kty !== alg.kty || (alg.crv !== undefined && !alg.crv.includes(j.crv as string))) continue;
    if ((j.alg !== undefined && j.alg !== header.alg) || (j.use !== undefined && j.use !== 'sig')) continue;
    const key = alg.pss
      ? { key: k.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
      : alg.ecLength !== undefined
        ? { key: k.key, dsaEncoding: 'ieee-p1363' as const }
        : k.key;
    try {
      if (verify(alg.hash, data, key, signature)) return true;
    } catch {
      // A key that cannot check this signature is just not the signer.
    }
  }
  return false;
}

function timely(claims: Record<string, unknown>, nowS: number): boolean {
  const { exp, nbf } = claims;
  if (exp !== undefined && (typeof exp !== 'number' || nowS > exp + LEEWAY_S)) return false;
  if (nbf !== undefined && (typeof nbf !== 'number' || nowS < nbf - LEEWAY_S)) return false;
  return true;
}

function audienceOk(audiences: readonly string[], aud: unknown): boolean {
  if (audiences.length === 0) return true;
  if (typeof aud === 'string') return audiences.includes(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && audiences.includes(a));
}

function holds(value: unknown, allowed: readonly string[]): boolean {
  if (Array.isArray(value)) return value.some((v) => holds(v, allowed));
  return (
    (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') &&
    allowed.includes(String(value))
  );
}
