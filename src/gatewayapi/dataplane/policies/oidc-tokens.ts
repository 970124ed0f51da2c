import type { OIDCIR } from '../../ir.ts';
import { verifiedClaims } from './jwt-auth.ts';
import type { ProviderEndpoints } from './oidc-discovery.ts';
import { fetchProvider } from './oidc-fetch.ts';

const LEEWAY_S = 60;
// An ID token is a few KiB; anything much larger is refused unread.
const MAX_ID_TOKEN = 16_384;

/** The token endpoint's answer: an ID token, a refusal (4xx: a bad code), or a failure. */
export type Redeemed =
  { readonly idToken: string } | { readonly refused: string } | { readonly failed: string };

/** Exchanges an authorization code at the token endpoint (RFC 6749 §4.1.3, PKCE RFC 7636 §4.5). */
export async function redeemCode(
  endpoints: ProviderEndpoints,
  o: OIDCIR,
  code: string,
  redirectURI: string,
  verifier: string,
): Promise<Redeemed> {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectURI,
    code_verifier: verifier,
  });
  // client_secret_basic: both parts form-encoded before base64 (RFC 6749 §2.3.1).
  const user = `${formEncode(o.clientID)}:${formEncode(o.clientSecret)}`;
  let answer;
  try {
    answer = await fetchProvider(endpoints.token, {
      ca: o.caCertificates,
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(user).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
    });
  } catch (err) {
    return { failed: `token endpoint: ${(err as Error).message}` };
  }
  const { status, body } = answer;
  if (status >= 400 && status < 500 && typeof body?.error === 'string')
    return { refused: `token endpoint: HTTP ${status} ${body.error.slice(0, 64)}` };
  if (status !== 200 || body === null) return { failed: `token endpoint: HTTP ${status}` };
  const idToken = body.id_token;
  if (typeof idToken !== 'string' || idToken === '' || idToken.length > MAX_ID_TOKEN)
    return { failed: 'token endpoint: no usable id_token' };
  return { idToken };
}

/**
 * The claims of an ID token (OIDC Core §3.1.3.7): signed by a key of the provider's JWKS (fetched
 * again once for a key it does not know yet), `iss` the issuer, `aud` holding the client (and
 * `azp` the client when there are several), not expired, and `nonce` the one the login sent.
 */
export async function verifyIDToken(
  idToken: string,
  endpoints: ProviderEndpoints,
  o: OIDCIR,
  nonce: string,
  nowS: number,
): Promise<{ claims: Record<string, unknown> } | { invalid: string }> {
  let claims = verifiedClaims(idToken, endpoints.jwks.keys(Date.now()), null);
  if (claims === null) {
    // The keys may not be fetched yet, or the provider rotated in a new one.
    await endpoints.jwks.refresh(Date.now());
    claims = verifiedClaims(idToken, endpoints.jwks.keys(Date.now()), null);
  }
  if (claims === null) return { invalid: 'the ID token signature does not verify' };
  if (claims.iss !== o.issuer) return { invalid: 'the ID token is from another issuer' };
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(o.clientID)) return { invalid: 'the ID token is for another client' };
  if (audiences.length > 1 && claims.azp !== undefined && claims.azp !== o.clientID)
    return { invalid: 'the ID token was issued to another party' };
  if (typeof claims.exp !== 'number' || nowS > claims.exp + LEEWAY_S)
    return { invalid: 'the ID token has expired' };
  if (claims.nonce !== nonce) return { invalid: 'the ID token nonce does not match the login' };
  return { claims };
}

function formEncode(s: string): string {
  return new URLSearchParams({ s }).toString().slice(2);
}
