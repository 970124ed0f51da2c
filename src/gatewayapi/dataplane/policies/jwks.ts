import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

/** A verification key of a JWKS: its JWK (kid, kty, crv, alg, use) and the key itself. */
export interface VerificationKey {
  readonly jwk: Readonly<Record<string, unknown>>;
  readonly key: KeyObject;
}

/**
 * The public keys among `jwks`; keys with private members, `oct` (shared secret) keys and keys
 * `createPublicKey` cannot read are left out.
 */
export function verificationKeys(jwks: readonly unknown[]): VerificationKey[] {
  const keys: VerificationKey[] = [];
  for (const k of jwks) {
    if (k === null || typeof k !== 'object' || Array.isArray(k)) continue;
    const jwk = k as Record<string, unknown>;
    if (jwk.d !== undefined || jwk.kty === 'oct') continue;
    try {
      keys.push({ jwk, key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }) });
    } catch {
      // Not a key node:crypto can read: it verifies nothing, so it is left out (closed).
    }
  }
  return keys;
}
