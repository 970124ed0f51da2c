import type { DefaultRule, Rule } from '../config/schema/rule.ts';
import type { Identity, RequestInfo } from '../request/types.ts';
import { CompiledRule } from './compiled-rule.ts';
import { explainRoute } from './explain.ts';
import type { Explanation, RouteRule, RouteTable } from './types.ts';

/**
 * Compiles a cluster's rules into a RouteTable (rules are assumed to have passed `checkRules`; a
 * range that is not one throws a RangeError). The first rule that applies to a request wins, else
 * the default rule. A rule applies when:
 * - every field of `match` holds (absent fields hold for any request; within a field any entry may
 *   match; a rule without `match` matches everything), and
 * - no single field of `exclude` holds ("none of these"; each field evaluated on its own).
 * Patterns are anchored and `*` is any run of characters, except `resources` and `nonResourceURLs`,
 * which follow RBAC exactly (rbac.ts): `pods` is pods without a subresource, `pods/log` one
 * subresource, a star before the slash names that subresource of every resource, `*` is all;
 * `/healthz` is exact, `/logs/*` a prefix.
 * Resource selectors (apiGroups, resources, namespaces, names) only hold for resource requests,
 * nonResourceURLs only for non-resource requests; `""` is the core group and the namespace of
 * cluster-scoped requests. `groups` holds when any of the user's groups matches;
 * `serviceAccounts` (`namespace:name`) never holds for users that are not service accounts;
 * `clientCIDRs` treat an IPv4-mapped IPv6 client address as IPv4.
 */
export function compileRules(
  rules: readonly Rule[],
  defaultRule: DefaultRule,
  /** The table these rules replace: predicates of rules whose match and exclude are unchanged are reused. */
  previous?: RouteTable,
): RouteTable {
  return new CompiledRouteTable(rules, defaultRule, previous instanceof CompiledRouteTable ? previous : null);
}

/** What a rule's predicates are built from; equal keys, equal predicates. */
function contentKey(spec: Rule): string {
  return JSON.stringify([spec.match ?? null, spec.exclude ?? null]);
}

class CompiledRouteTable implements RouteTable {
  readonly rules: readonly RouteRule[];
  readonly defaultRule: RouteRule;
  readonly #compiled: readonly CompiledRule[];
  /** Compiled rules by content key, for the next table. */
  readonly #byContent = new Map<string, CompiledRule>();

  constructor(rules: readonly Rule[], defaultRule: DefaultRule, previous: CompiledRouteTable | null) {
    const reuse = previous === null ? undefined : previous.#byContent;
    this.#compiled = Object.freeze(
      rules.map((spec, index) => {
        const key = contentKey(spec);
        const route = Object.freeze({ name: spec.name, index, spec });
        const compiled = new CompiledRule(route, spec.match, spec.exclude, reuse?.get(key));
        this.#byContent.set(key, compiled);
        return compiled;
      }),
    );
    this.rules = Object.freeze(this.#compiled.map((c) => c.route));
    this.defaultRule = Object.freeze({ name: 'default', index: -1, spec: defaultRule });
  }

  match(info: RequestInfo, identity: Identity, clientIP: string): RouteRule {
    const compiled = this.#compiled;
    for (let i = 0; i < compiled.length; i++) {
      if (compiled[i].applies(info, identity, clientIP)) return compiled[i].route;
    }
    return this.defaultRule;
  }

  explain(info: RequestInfo, identity: Identity, clientIP: string): Explanation {
    return explainRoute(this.#compiled, this.defaultRule, info, identity, clientIP);
  }
}
