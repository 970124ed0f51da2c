import type { Match } from '../config/schema/match.ts';
import type { Identity, RequestInfo } from '../request/types.ts';

/** The name of one `match` / `exclude` field. */
export type MatchField = keyof Match;

/**
 * The order fields are tested in, and so the field an explanation names when several fail: the
 * request's own fields first (cheapest), then who sent it, then from where.
 */
export const FIELD_ORDER: readonly MatchField[] = Object.freeze([
  'verbs',
  'apiGroups',
  'resources',
  'namespaces',
  'names',
  'nonResourceURLs',
  'users',
  'groups',
  'serviceAccounts',
  'clientCIDRs',
]);

/** The fields that select resource requests only (RBAC's resource rule). */
export const RESOURCE_FIELDS: readonly MatchField[] = Object.freeze([
  'apiGroups',
  'resources',
  'namespaces',
  'names',
]);

/** One compiled field of a `match` or `exclude`: a predicate over a request, built at load time. */
export interface FieldMatcher {
  readonly field: MatchField;
  /** True when the request satisfies this field. Runs per request: must not allocate. */
  test(info: RequestInfo, identity: Identity, clientIP: string): boolean;
  /** Why `test` answers as it does, e.g. `"get" is not one of [list, watch]` (for explain). */
  describe(info: RequestInfo, identity: Identity, clientIP: string): string;
}

/** A value in explanations: JSON-quoted, so `""` and odd characters are visible. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** A pattern list in explanations: `[list, watch]`, with `""` spelled out. */
export function listText(items: readonly string[]): string {
  return `[${items.map((i) => (i === '' ? '""' : i)).join(', ')}]`;
}

/** `"v" matches "p"` for the pattern at `index`, else `"v" is not one of [..]` (or `matches none of`). */
export function outcome(
  value: string,
  sources: readonly string[],
  index: number,
  hasWildcards: boolean,
): string {
  if (index >= 0) return `${quote(value)} matches ${quote(sources[index])}`;
  return `${quote(value)} ${hasWildcards ? 'matches none of' : 'is not one of'} ${listText(sources)}`;
}

/** Why a resource selector does not apply to a non-resource request. */
export function notResourceRequest(info: RequestInfo): string {
  return `${quote(info.path)} is not a resource request`;
}
