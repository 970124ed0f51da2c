// One HTTPRoute compiled on its own, before attachment: its RouteIRs (one per rule match), the
// clusters they use, and what its status conditions must say about values and references.

import type { BackendIR, ClusterIR, RetryIR, RouteIR, TimeoutsIR } from '../ir.ts';
import type { Backends } from './backends.ts';
import type { Problem } from './conditions.ts';
import { parseDuration } from './durations.ts';
import type { FilterContext } from './filters.ts';
import { compileFilters } from './filters.ts';
import { compileMatches } from './matches.ts';
import type { Meta } from './read.ts';
import { arr, has, int, keyOf, meta, rec, strs, text } from './read.ts';

/** One RouteIR with what orders it among equals. */
export interface RouteEntry {
  readonly ir: RouteIR;
  readonly ruleIndex: number;
  readonly matchIndex: number;
}

export interface CompiledRoute {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly meta: Meta;
  readonly hostnames: readonly string[];
  readonly parentRefs: readonly unknown[];
  readonly entries: readonly RouteEntry[];
  readonly clusters: ReadonlyMap<string, ClusterIR>;
  /** Why the route cannot be accepted by any parent (UnsupportedValue, IncompatibleFilters). */
  readonly notAccepted: Problem | null;
  readonly resolvedRefs: Problem | null;
}

/** Retry backoff when the rule gives none: Envoy's base interval. */
export const DEFAULT_BACKOFF_MS = 25;

function duration(value: unknown, field: string, unsupported: string[]): number {
  if (value === undefined) return 0;
  const ms = typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null) unsupported.push(`${field} ${JSON.stringify(value)} is not a Gateway API duration.`);
  return ms ?? 0;
}

function timeouts(rule: Readonly<Record<string, unknown>>, unsupported: string[]): TimeoutsIR | null {
  if (!has(rule.timeouts)) return null;
  const t = rec(rule.timeouts);
  return {
    requestMs: duration(t.request, 'timeouts.request', unsupported),
    backendRequestMs: duration(t.backendRequest, 'timeouts.backendRequest', unsupported),
  };
}

function retry(rule: Readonly<Record<string, unknown>>, unsupported: string[]): RetryIR | null {
  if (!has(rule.retry)) return null;
  const r = rec(rule.retry);
  const codes: number[] = [];
  for (const c of arr(r.codes)) {
    const code = int(c);
    if (code === undefined || code < 400 || code > 599)
      unsupported.push(`Retry code ${JSON.stringify(c)} is not 400-599.`);
    else if (!codes.includes(code)) codes.push(code);
  }
  const attempts = int(r.attempts) ?? 1;
  if (attempts < 0) unsupported.push('retry.attempts is negative.');
  const backoffMs =
    r.backoff === undefined ? DEFAULT_BACKOFF_MS : duration(r.backoff, 'retry.backoff', unsupported);
  return { codes, attempts: Math.max(0, attempts), backoffMs };
}

export function summarize(problems: readonly Problem[]): Problem | null {
  if (problems.length === 0) return null;
  return { reason: problems[0].reason, message: [...new Set(problems.map((p) => p.message))].join(' ') };
}

/** One backendRef of a rule: its cluster (null when unresolved), weight and own filters. */
export function compileBackendRef(refRaw: unknown, ctx: FilterContext): BackendIR {
  const ref = rec(refRaw);
  const weight = int(ref.weight) ?? 1;
  if (weight < 0) ctx.unsupported.push('backendRef weight is negative.');
  const target = ctx.backends.resolve(ref, ctx.namespace, ctx.routeKind);
  if ('reason' in target) ctx.refProblems.push(target);
  else ctx.clusters.set(target.name, target);
  const own = compileFilters(ref.filters, ctx, 'backend');
  const cluster = 'reason' in target || own.unresolved ? null : target.name;
  return { cluster, weight: Math.max(0, weight), filters: own.filters };
}

/** What a rule's matches share: one RouteEntry per match. */
export interface RuleParts {
  readonly filters: RouteIR['filters'];
  readonly backends: readonly BackendIR[];
  readonly unresolved: boolean;
  readonly timeouts: TimeoutsIR | null;
  readonly retry: RetryIR | null;
}

export function ruleEntries(
  m: Meta,
  ruleIndex: number,
  rule: Readonly<Record<string, unknown>>,
  matches: readonly RouteIR['match'][],
  p: RuleParts,
): RouteEntry[] {
  return matches.map((match, matchIndex) => ({
    ir: {
      id: `${keyOf(m)}/${ruleIndex}/${matchIndex}`,
      ruleName: text(rule.name) ?? null,
      match,
      filters: p.filters,
      backends: p.backends,
      directResponse: p.unresolved ? { status: 500, body: 'Unresolved ExtensionRef filter.' } : null,
      timeouts: p.timeouts,
      retry: p.retry,
    },
    ruleIndex,
    matchIndex,
  }));
}

/** The compiled route from what its rules gathered: conditions first IncompatibleFilters, then UnsupportedValue. */
export function compiledRoute(
  kind: CompiledRoute['kind'],
  m: Meta,
  spec: Readonly<Record<string, unknown>>,
  got: {
    entries: readonly RouteEntry[];
    clusters: ReadonlyMap<string, ClusterIR>;
    incompatible: readonly string[];
    unsupported: readonly string[];
    refProblems: readonly Problem[];
  },
): CompiledRoute {
  const notAccepted =
    got.incompatible.length > 0
      ? { reason: 'IncompatibleFilters', message: [...new Set(got.incompatible)].join(' ') }
      : got.unsupported.length > 0
        ? { reason: 'UnsupportedValue', message: [...new Set(got.unsupported)].join(' ') }
        : null;
  return {
    kind,
    meta: m,
    hostnames: [
      ...new Set(
        strs(spec.hostnames)
          .filter((h) => h !== '')
          .map((h) => h.toLowerCase()),
      ),
    ],
    parentRefs: arr(spec.parentRefs),
    entries: got.entries,
    clusters: got.clusters,
    notAccepted,
    resolvedRefs: summarize(got.refProblems),
  };
}

/** Compiles an HTTPRoute; backendRefs resolve through `backends`. */
export function compileRoute(raw: unknown, backends: Backends): CompiledRoute {
  const m = meta(raw);
  const spec = rec(rec(raw).spec);
  const unsupported: string[] = [];
  const incompatible: string[] = [];
  const refProblems: Problem[] = [];
  const clusters = new Map<string, ClusterIR>();
  const entries: RouteEntry[] = [];
  // No rules: the CRD default, one rule matching every request (with no backends: 500).
  const rules = arr(spec.rules).length > 0 ? arr(spec.rules) : [{}];
  rules.forEach((ruleRaw, ruleIndex) => {
    const rule = rec(ruleRaw);
    const matches = compileMatches(rule.matches, unsupported);
    const only = matches.length === 1 ? matches[0].path : null;
    const ctx: FilterContext = {
      backends,
      namespace: m.namespace,
      prefix: only?.type === 'PathPrefix' ? only.value : null,
      unsupported,
      incompatible,
      refProblems,
      clusters,
    };
    const { filters, unresolved } = compileFilters(rule.filters, ctx, 'rule');
    const backendIRs = arr(rule.backendRefs).map((refRaw) => compileBackendRef(refRaw, ctx));
    if (backendIRs.length > 0 && filters.some((f) => f.type === 'RequestRedirect'))
      incompatible.push('RequestRedirect cannot be used together with backendRefs.');
    const ruleTimeouts = timeouts(rule, unsupported);
    const ruleRetry = retry(rule, unsupported);
    entries.push(
      ...ruleEntries(m, ruleIndex, rule, matches, {
        filters,
        backends: backendIRs,
        unresolved,
        timeouts: ruleTimeouts,
        retry: ruleRetry,
      }),
    );
  });
  return compiledRoute('HTTPRoute', m, spec, { entries, clusters, incompatible, unsupported, refProblems });
}
