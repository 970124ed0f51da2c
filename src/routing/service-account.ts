import { PatternList } from './pattern.ts';

// `serviceAccounts` patterns are written `namespace:name` and matched against the whole user name
// `system:serviceaccount:<namespace>:<name>`, so the request path does one anchored test on the
// string it already has instead of splitting it. A user is a service account only when the
// apiserver would say so (auth/user.ts splitServiceAccountUsername: a DNS label, `:`, a DNS subdomain);
// the check below is the same, as one precompiled RegExp plus length limits, without allocating.

const PREFIX = 'system:serviceaccount:';
const LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
const SERVICE_ACCOUNT_USER = new RegExp(`^${PREFIX}${LABEL}:${LABEL}(?:\\.${LABEL})*$`);

// The user last checked: every serviceAccounts field of a table sees the same string for one request.
let lastUser = '';
let lastAnswer = false;

/** True when `user` is a service account's user name. Allocation-free. */
export function isServiceAccountUser(user: string): boolean {
  if (user !== lastUser) {
    lastAnswer = checkServiceAccountUser(user);
    lastUser = user;
  }
  return lastAnswer;
}

function checkServiceAccountUser(user: string): boolean {
  if (!user.startsWith(PREFIX) || !SERVICE_ACCOUNT_USER.test(user)) return false;
  const colon = user.indexOf(':', PREFIX.length);
  return colon - PREFIX.length <= 63 && user.length - colon - 1 <= 253;
}

/** `system:serviceaccount:ns:name` → `ns:name` (for explanations). */
export function serviceAccountOf(user: string): string {
  return user.slice(PREFIX.length);
}

/** A compiled `serviceAccounts` list (`namespace:name` patterns, `*` wildcards). */
export class ServiceAccountList {
  /** The entries as written, in order (for explanations). */
  readonly sources: readonly string[];
  readonly hasWildcards: boolean;
  readonly #users: PatternList;

  constructor(entries: readonly string[]) {
    this.sources = Object.freeze([...entries]);
    this.#users = new PatternList(entries.map((e) => PREFIX + e));
    this.hasWildcards = this.#users.hasWildcards;
  }

  /** True when `user` is a service account that one of the patterns matches. Allocation-free. */
  has(user: string): boolean {
    return isServiceAccountUser(user) && this.#users.has(user);
  }

  /** The index of the first pattern that matches the service account `user`, or -1. */
  find(user: string): number {
    return isServiceAccountUser(user) ? this.#users.find(user) : -1;
  }
}
