// One GRPCRoute compiled on its own, before attachment, into the same shape as an HTTPRoute
// (routes.ts): method matches become path matches, filters and backendRefs are HTTPRoute's, and
// every backend is spoken to over h2c. Attachment, hostnames and statuses are then shared.

import type { ClusterIR } from '../ir.ts';
import type { Backends } from './backends.ts';
import type { Problem } from './conditions.ts';
import type { FilterContext } from './filters.ts';
import { compileFilters } from './filters.ts';
import { compileGRPCMatches } from './grpc-matches.ts';
import { arr, meta, rec, text } from './read.ts';
import {
  compileBackendRef,
  compiledRoute,
  ruleEntries,
  type CompiledRoute,
  type RouteEntry,
} from './routes.ts';

/** Filters a GRPCRoute rule or backendRef may carry (the CRD allows no other). */
const GRPC_FILTERS = new Set([
  'RequestHeaderModifier',
  'ResponseHeaderModifier',
  'RequestMirror',
  'ExtensionRef',
]);

/** Compiles a GRPCRoute; backendRefs resolve through `backends`. */
export function compileGRPCRoute(raw: unknown, backends: Backends): CompiledRoute {
  const m = meta(raw);
  const spec = rec(rec(raw).spec);
  const unsupported: string[] = [];
  const incompatible: string[] = [];
  const refProblems: Problem[] = [];
  const clusters = new Map<string, ClusterIR>();
  const entries: RouteEntry[] = [];
  const rules = arr(spec.rules).length > 0 ? arr(spec.rules) : [{}];
  const checkTypes = (list: unknown) => {
    for (const f of arr(list)) {
      const type = text(rec(f).type) ?? '(none)';
      if (!GRPC_FILTERS.has(type)) unsupported.push(`Filter ${type} is not a GRPCRoute filter.`);
    }
  };
  rules.forEach((ruleRaw, ruleIndex) => {
    const rule = rec(ruleRaw);
    const matches = compileGRPCMatches(rule.matches, unsupported);
    const ctx: FilterContext = {
      backends,
      namespace: m.namespace,
      prefix: null,
      unsupported,
      incompatible,
      refProblems,
      clusters,
      routeKind: 'GRPCRoute',
    };
    checkTypes(rule.filters);
    const { filters, unresolved } = compileFilters(rule.filters, ctx, 'rule');
    const backendIRs = arr(rule.backendRefs).map((refRaw) => {
      checkTypes(rec(refRaw).filters);
      return compileBackendRef(refRaw, ctx);
    });
    entries.push(
      ...ruleEntries(m, ruleIndex, rule, matches, {
        filters,
        backends: backendIRs,
        unresolved,
        timeouts: null,
        retry: null,
      }),
    );
  });
  return compiledRoute('GRPCRoute', m, spec, { entries, clusters, incompatible, unsupported, refProblems });
}
