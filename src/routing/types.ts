import type { DefaultRule, Rule } from '../config/schema/rule.ts';
import type { Identity, RequestInfo } from '../request/types.ts';

/**
 * The rule a request was routed by. Created once per rule when the table is compiled and frozen, so
 * callers may key per-rule state (token buckets, metrics) on the object itself.
 */
export interface RouteRule {
  /** The rule's name; `default` for the default rule. */
  readonly name: string;
  /** The rule's position in the list; -1 for the default rule. */
  readonly index: number;
  /** The rule as configured. */
  readonly spec: Rule | DefaultRule;
}

/** An earlier rule that did not apply, and why. */
export interface SkippedRule {
  readonly name: string;
  readonly index: number;
  /** The field that decided it and why, e.g. `match.verbs: "get" is not one of [list, watch]`. */
  readonly reason: string;
}

/** How a request was routed: the rule it got and every earlier rule that did not apply. */
export interface Explanation {
  readonly rule: RouteRule;
  readonly skipped: readonly SkippedRule[];
}

/** A cluster's compiled rules: the first rule that matches a request decides, else the default rule. */
export interface RouteTable {
  /** The configured rules, in order. */
  readonly rules: readonly RouteRule[];
  /** What a request that matches no rule gets. */
  readonly defaultRule: RouteRule;
  /** The first matching rule, or the default rule. Runs per request: allocation-free. */
  match(info: RequestInfo, identity: Identity, clientIP: string): RouteRule;
  /** What `match` answers, with the reason each earlier rule was skipped (allocates; for tools). */
  explain(info: RequestInfo, identity: Identity, clientIP: string): Explanation;
}
