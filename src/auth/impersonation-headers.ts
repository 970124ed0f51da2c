import type { Identity } from '../request/types.ts';
import { toHeaderValue } from './go-text.ts';
import {
  ALL_AUTHENTICATED,
  ALL_UNAUTHENTICATED,
  ANONYMOUS_USER,
  splitServiceAccountUsername,
} from './user.ts';

// Bytes client-go's headerKeyEscape leaves alone: RFC 7230 token characters except '%'.
const TOKEN_BYTES = new Set(Buffer.from("!#$&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz", 'latin1'));

/**
 * An extra key as a header-name suffix: client-go's headerKeyEscape (every byte that is not a
 * token character, and '%', as %XX), and also uppercase letters, because we send lowercase header
 * names and kube-apiserver lowercases the name *before* unescaping: `%41` survives as `A`.
 */
export function escapeExtraKey(key: string): string {
  let out = '';
  for (const b of Buffer.from(key, 'utf8')) {
    out += TOKEN_BYTES.has(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The upstream headers that make the API server treat a request as `identity` (lowercase names,
 * for HTTP/2; values as byte strings, see `toHeaderValue`). `system:authenticated` is left out
 * whenever kube-apiserver would add it back itself, keeping the list short.
 */
export function impersonationHeaders(identity: Identity): ReadonlyArray<readonly [string, string]> {
  // Identities are frozen and a cached one serves many requests: build its headers once.
  let h = byIdentity.get(identity);
  if (h === undefined) {
    h = build(identity);
    if (Object.isFrozen(identity)) byIdentity.set(identity, h);
  }
  return h;
}

const byIdentity = new WeakMap<Identity, ReadonlyArray<readonly [string, string]>>();

/**
 * The identity of a request sent as the gateway's (or the cluster Secret's) own credential, with no
 * impersonation: what a ClusterGateway `PrivilegedIdentityExchanger` rule maps a caller to. Its
 * name is what the access log and later rules see; it is never sent.
 */
export const OWN_CREDENTIAL: Identity = Object.freeze({
  user: 'kubegate:own-credential',
  uid: '',
  groups: Object.freeze([]),
  extra: Object.freeze({}),
});
byIdentity.set(OWN_CREDENTIAL, Object.freeze([]));

function build(identity: Identity): Array<[string, string]> {
  if (identity.user === '') throw new Error('cannot impersonate an empty user name');
  const out: Array<[string, string]> = [['impersonate-user', toHeaderValue(identity.user)]];
  if (identity.uid !== '') out.push(['impersonate-uid', toHeaderValue(identity.uid)]);

  let groups = identity.groups;
  const readded = identity.user !== ANONYMOUS_USER && !groups.includes(ALL_UNAUTHENTICATED);
  if (readded) {
    const rest = groups.filter((g) => g !== ALL_AUTHENTICATED);
    // A service account sent without groups would get its default groups instead of these.
    if (rest.length > 0 || splitServiceAccountUsername(identity.user) === null) groups = rest;
  }
  // One line per group: kube-apiserver takes each header line as one group and never splits a
  // line on commas, so joining them ("a, b") would name a single group.
  for (const g of groups) out.push(['impersonate-group', toHeaderValue(g)]);
  for (const [key, values] of Object.entries(identity.extra)) {
    const name = `impersonate-extra-${escapeExtraKey(key)}`;
    for (const v of values) out.push([name, toHeaderValue(v)]);
  }
  return out;
}

/** Whether a header is one of the Impersonate-* headers (which a client must not pass upstream). */
export function isImpersonationHeader(name: string): boolean {
  const n = name.toLowerCase();
  return (
    n === 'impersonate-user' ||
    n === 'impersonate-uid' ||
    n === 'impersonate-group' ||
    n.startsWith('impersonate-extra-')
  );
}

/** Whether a header is an authenticating-proxy (requestheader) header: X-Remote-User/-Uid/-Group/-Extra-*. */
export function isFrontProxyHeader(name: string): boolean {
  const n = name.toLowerCase();
  return (
    n === 'x-remote-user' || n === 'x-remote-uid' || n === 'x-remote-group' || n.startsWith('x-remote-extra-')
  );
}
