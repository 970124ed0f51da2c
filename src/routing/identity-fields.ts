import type { Identity, RequestInfo } from '../request/types.ts';
import { CIDRList } from './cidr.ts';
import { listText, outcome, quote, type FieldMatcher } from './field.ts';
import { PatternList } from './pattern.ts';
import { isServiceAccountUser, serviceAccountOf, ServiceAccountList } from './service-account.ts';

// The fields about who sent a request and from where. They apply to resource and non-resource
// requests alike.

/** `users`: the user name as the upstream sees it (after impersonation). */
export class UsersField implements FieldMatcher {
  readonly field = 'users';
  readonly #list: PatternList;
  constructor(patterns: readonly string[]) {
    this.#list = new PatternList(patterns);
  }
  test(_info: RequestInfo, identity: Identity): boolean {
    return this.#list.has(identity.user);
  }
  describe(_info: RequestInfo, identity: Identity): string {
    const l = this.#list;
    return outcome(identity.user, l.sources, l.find(identity.user), l.hasWildcards);
  }
}

/** `groups`: matches when any one of the user's groups matches any one pattern. */
export class GroupsField implements FieldMatcher {
  readonly field = 'groups';
  readonly #list: PatternList;
  constructor(patterns: readonly string[]) {
    this.#list = new PatternList(patterns);
  }
  test(_info: RequestInfo, identity: Identity): boolean {
    const groups = identity.groups;
    for (let i = 0; i < groups.length; i++) if (this.#list.has(groups[i])) return true;
    return false;
  }
  describe(_info: RequestInfo, identity: Identity): string {
    const l = this.#list;
    for (const g of identity.groups) {
      const at = l.find(g);
      if (at >= 0) return outcome(g, l.sources, at, l.hasWildcards);
    }
    const verb = l.hasWildcards ? 'matches none of' : 'is one of';
    return `no group of ${listText(identity.groups)} ${verb} ${listText(l.sources)}`;
  }
}

/** `serviceAccounts`: `namespace:name` patterns; users that are not service accounts never match. */
export class ServiceAccountsField implements FieldMatcher {
  readonly field = 'serviceAccounts';
  readonly #list: ServiceAccountList;
  constructor(patterns: readonly string[]) {
    this.#list = new ServiceAccountList(patterns);
  }
  test(_info: RequestInfo, identity: Identity): boolean {
    return this.#list.has(identity.user);
  }
  describe(_info: RequestInfo, identity: Identity): string {
    if (!isServiceAccountUser(identity.user)) return `${quote(identity.user)} is not a service account`;
    const l = this.#list;
    return outcome(serviceAccountOf(identity.user), l.sources, l.find(identity.user), l.hasWildcards);
  }
}

/** `clientCIDRs`: the address of the client connection (IPv4-mapped IPv6 counts as IPv4). */
export class ClientCIDRsField implements FieldMatcher {
  readonly field = 'clientCIDRs';
  readonly #list: CIDRList;
  constructor(entries: readonly string[]) {
    this.#list = new CIDRList(entries);
  }
  test(_info: RequestInfo, _identity: Identity, clientIP: string): boolean {
    return this.#list.has(clientIP);
  }
  describe(_info: RequestInfo, _identity: Identity, clientIP: string): string {
    const l = this.#list;
    const at = l.find(clientIP);
    if (at === -2) return `${quote(clientIP)} is not an IP address`;
    if (at >= 0) return `${quote(clientIP)} is in ${quote(l.sources[at])}`;
    return `${quote(clientIP)} is not in ${listText(l.sources)}`;
  }
}
