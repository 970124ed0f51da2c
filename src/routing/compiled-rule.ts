import type { Match } from '../config/schema/match.ts';
import type { Identity, RequestInfo } from '../request/types.ts';
import { FIELD_ORDER, type FieldMatcher, type MatchField } from './field.ts';
import { ClientCIDRsField, GroupsField, ServiceAccountsField, UsersField } from './identity-fields.ts';
import {
  APIGroupsField,
  NamesField,
  NamespacesField,
  NonResourceURLsField,
  ResourcesField,
  VerbsField,
} from './request-fields.ts';
import type { RouteRule } from './types.ts';

const FIELDS: Readonly<Record<MatchField, new (patterns: readonly string[]) => FieldMatcher>> = {
  verbs: VerbsField,
  apiGroups: APIGroupsField,
  resources: ResourcesField,
  namespaces: NamespacesField,
  names: NamesField,
  nonResourceURLs: NonResourceURLsField,
  users: UsersField,
  groups: GroupsField,
  serviceAccounts: ServiceAccountsField,
  clientCIDRs: ClientCIDRsField,
};

/** The predicates of the fields `match` gives, in FIELD_ORDER. */
export function compileMatch(match: Match | undefined): readonly FieldMatcher[] {
  if (match === undefined) return Object.freeze([]);
  const out: FieldMatcher[] = [];
  for (const field of FIELD_ORDER) {
    const patterns = match[field];
    if (patterns !== undefined) out.push(new FIELDS[field](patterns));
  }
  return Object.freeze(out);
}

/**
 * One rule as predicates: it applies when every `match` field holds and no `exclude` field does.
 * A rule with neither matches every request.
 */
export class CompiledRule {
  readonly route: RouteRule;
  readonly match: readonly FieldMatcher[];
  readonly exclude: readonly FieldMatcher[];

  constructor(
    route: RouteRule,
    match: Match | undefined,
    exclude: Match | undefined,
    /** A rule with the same `match` and `exclude` whose predicates can be shared (they are immutable). */
    same?: CompiledRule,
  ) {
    this.route = route;
    this.match = same ? same.match : compileMatch(match);
    this.exclude = same ? same.exclude : compileMatch(exclude);
  }

  /** True when the rule applies to the request. Allocation-free. */
  applies(info: RequestInfo, identity: Identity, clientIP: string): boolean {
    const match = this.match;
    for (let i = 0; i < match.length; i++) if (!match[i].test(info, identity, clientIP)) return false;
    const exclude = this.exclude;
    for (let i = 0; i < exclude.length; i++) if (exclude[i].test(info, identity, clientIP)) return false;
    return true;
  }

  /** Why the rule does not apply (`match.verbs: …` / `exclude.namespaces: …`), or null when it does. */
  whyNot(info: RequestInfo, identity: Identity, clientIP: string): string | null {
    for (const m of this.match)
      if (!m.test(info, identity, clientIP))
        return `match.${m.field}: ${m.describe(info, identity, clientIP)}`;
    for (const e of this.exclude)
      if (e.test(info, identity, clientIP))
        return `exclude.${e.field}: ${e.describe(info, identity, clientIP)}`;
    return null;
  }
}
