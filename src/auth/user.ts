import type { Identity } from '../request/types.ts';

/** The user name of requests that carry no credential (k8s.io/apiserver user.Anonymous). */
export const ANONYMOUS_USER = 'system:anonymous';
/** The group of every authenticated user. */
export const ALL_AUTHENTICATED = 'system:authenticated';
/** The group of anonymous requests. */
export const ALL_UNAUTHENTICATED = 'system:unauthenticated';
/** The group of every service account. */
export const ALL_SERVICE_ACCOUNTS = 'system:serviceaccounts';

/** Extra keys kube-apiserver attaches to authenticated users. */
export const EXTRA_CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';
export const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
export const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';
export const EXTRA_NODE_NAME = 'authentication.kubernetes.io/node-name';
export const EXTRA_NODE_UID = 'authentication.kubernetes.io/node-uid';

const SA_PREFIX = 'system:serviceaccount:';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `system:serviceaccount:<namespace>:<name>`. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SA_PREFIX}${namespace}:${name}`;
}

/** The groups every service account of `namespace` belongs to. */
export function serviceAccountGroups(namespace: string): string[] {
  return [ALL_SERVICE_ACCOUNTS, `system:serviceaccounts:${namespace}`];
}

/**
 * The namespace and name of a service-account user name, or null when `username` is not one
 * (serviceaccount.SplitUsername: exactly two parts, a valid namespace and a valid account name).
 */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | null {
  if (!username.startsWith(SA_PREFIX)) return null;
  const parts = username.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2) return null;
  const [namespace, name] = parts;
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) return null;
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) return null;
  return { namespace, name };
}

/**
 * Adds `system:authenticated` the way kube-apiserver's AuthenticatedGroupAdder does: never to
 * `system:anonymous`, and not when either `system:authenticated` or `system:unauthenticated` is
 * already there.
 */
export function withAuthenticatedGroup(identity: Identity): Identity {
  if (
    identity.user === ANONYMOUS_USER ||
    identity.groups.includes(ALL_AUTHENTICATED) ||
    identity.groups.includes(ALL_UNAUTHENTICATED)
  ) {
    return identity;
  }
  // A cached token's identity is one frozen object: so is its authenticated form, for every
  // request it makes (the access log and limits key on it).
  let added = AUTHENTICATED.get(identity);
  if (added === undefined) {
    added = freezeIdentity({ ...identity, groups: [...identity.groups, ALL_AUTHENTICATED] });
    if (Object.isFrozen(identity) && Object.isFrozen(identity.groups)) AUTHENTICATED.set(identity, added);
  }
  return added;
}

const AUTHENTICATED = new WeakMap<Identity, Identity>();

/** A deep-frozen copy, safe to share between requests (e.g. from a cache). */
export function freezeIdentity(identity: Identity): Identity {
  const extra: Record<string, readonly string[]> = {};
  for (const [k, v] of Object.entries(identity.extra)) extra[k] = Object.freeze([...v]);
  return Object.freeze({
    user: identity.user,
    uid: identity.uid,
    groups: Object.freeze([...identity.groups]),
    extra: Object.freeze(extra),
  });
}
