import type { Identity } from '../request/types.ts';
import {
  EXTRA_CREDENTIAL_ID,
  EXTRA_NODE_NAME,
  EXTRA_NODE_UID,
  EXTRA_POD_NAME,
  EXTRA_POD_UID,
  freezeIdentity,
  serviceAccountGroups,
  serviceAccountUsername,
  withAuthenticatedGroup,
} from './user.ts';

// The claims of a bound service-account token (k8s.io/kubernetes pkg/serviceaccount/claims.go),
// parsed with go-jose's rules: a claim of the wrong JSON type makes the whole token invalid.

interface Ref {
  name: string;
  uid: string;
}

/** The verified claims kube-apiserver reads from a bound service-account token. */
export interface BoundClaims {
  iss: string;
  aud: string[];
  exp: number | null;
  nbf: number | null;
  iat: number | null;
  jti: string;
  namespace: string;
  serviceAccount: Ref;
  pod: Ref | null;
  node: Ref | null;
  secret: Ref | null;
}

// go-jose's jwt.DefaultLeeway, applied to nbf, exp and iat.
const LEEWAY_MS = 60_000;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function payloadOf(token: string): Json | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !/^[A-Za-z0-9_-]*$/.test(parts[1])) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Whether `token` is, before verification, a compact JWT of one of `issuers` that this verifier
 * should judge: legacy Secret tokens (no `kubernetes.io` claim) and tokens bound to webhook
 * configurations (behind an alpha feature gate) are left to TokenReview.
 */
export function peekClaims(token: string, issuers: readonly string[]): boolean {
  if (token.trimStart().startsWith('{')) return false;
  const p = payloadOf(token);
  if (p === null || typeof p.iss !== 'string' || !issuers.includes(p.iss)) return false;
  const k = p['kubernetes.io'];
  return isObject(k) && k.validatingwebhookconfiguration == null && k.mutatingwebhookconfiguration == null;
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new TypeError(`claim ${what} is not a string`);
  return v;
}

// go-jose NumericDate: any JSON number, truncated to whole seconds.
function date(v: unknown, what: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number') throw new TypeError(`claim ${what} is not a number`);
  return Math.trunc(v) * 1000;
}

function ref(v: unknown, what: string): Ref | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new TypeError(`claim ${what} is not an object`);
  return { name: str(v.name, `${what}.name`), uid: str(v.uid, `${what}.uid`) };
}

/** The verified payload as `BoundClaims`, or the reason it cannot be read. */
export function decodeClaims(payload: Uint8Array): BoundClaims | string {
  try {
    const p: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: false }).decode(payload));
    if (!isObject(p)) return 'token payload is not a JSON object';
    const aud = p.aud;
    let auds: string[];
    if (aud === undefined || aud === null) auds = [];
    else if (typeof aud === 'string') auds = [aud];
    else if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) auds = aud;
    else return 'claim aud is neither a string nor a list of strings';
    const k = p['kubernetes.io'];
    if (!isObject(k)) return 'claim kubernetes.io is not an object';
    return {
      iss: str(p.iss, 'iss'),
      aud: auds,
      exp: date(p.exp, 'exp'),
      nbf: date(p.nbf, 'nbf'),
      iat: date(p.iat, 'iat'),
      jti: str(p.jti, 'jti'),
      namespace: str(k.namespace, 'kubernetes.io.namespace'),
      serviceAccount: ref(k.serviceaccount, 'kubernetes.io.serviceaccount') ?? { name: '', uid: '' },
      pod: ref(k.pod, 'kubernetes.io.pod'),
      node: ref(k.node, 'kubernetes.io.node'),
      secret: ref(k.secret, 'kubernetes.io.secret'),
    };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The identity of verified claims at time `nowMs` (or why they are not valid), as the bound token
 * validator builds ServiceAccountInfo.UserInfo(): pod extras only with both pod name and uid,
 * node extras (node-uid only with a node name), credential-id `JTI=<jti>`, plus
 * `system:authenticated`.
 */
export function identityFromClaims(c: BoundClaims, nowMs: number): Identity | string {
  if (c.nbf !== null && nowMs + LEEWAY_MS < c.nbf) return 'service account token is not valid yet';
  if (c.exp !== null && nowMs - LEEWAY_MS > c.exp) return 'service account token has expired';
  if (c.iat !== null && nowMs + LEEWAY_MS < c.iat) return 'service account token is issued in the future';
  // kube-apiserver would fail to look up an account without a namespace or name.
  if (c.namespace === '' || c.serviceAccount.name === '')
    return 'service account token names no service account';

  const extra: Record<string, string[]> = {};
  if (c.pod && c.pod.name !== '' && c.pod.uid !== '') {
    extra[EXTRA_POD_NAME] = [c.pod.name];
    extra[EXTRA_POD_UID] = [c.pod.uid];
  }
  if (c.jti !== '') extra[EXTRA_CREDENTIAL_ID] = [`JTI=${c.jti}`];
  if (c.node && c.node.name !== '') {
    extra[EXTRA_NODE_NAME] = [c.node.name];
    if (c.node.uid !== '') extra[EXTRA_NODE_UID] = [c.node.uid];
  }
  return withAuthenticatedGroup(
    freezeIdentity({
      user: serviceAccountUsername(c.namespace, c.serviceAccount.name),
      uid: c.serviceAccount.uid,
      groups: serviceAccountGroups(c.namespace),
      extra,
    }),
  );
}
