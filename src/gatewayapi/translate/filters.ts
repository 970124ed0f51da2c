// HTTPRoute filters, rule level and backendRef level. How invalid filters are reported (the spec's
// words on HTTPRouteFilter.type and on unresolvable custom filters):
// - an unknown filter type, a filter without its configuration, an unknown enum value (scheme, status
//   code, path modifier type), or a filter kubegate does not implement at that level (ExternalAuth,
//   anything but header modifiers on a backendRef): the route is not accepted, Accepted False with
//   reason UnsupportedValue;
// - RequestRedirect together with URLRewrite or backendRefs, or a repeated non-repeatable filter:
//   Accepted False with reason IncompatibleFilters;
// - an ExtensionRef (kubegate has no extension kinds): the reference cannot be resolved, so the route
//   gets ResolvedRefs False with reason InvalidKind and the rule answers 500 (on a backendRef: that
//   backend's share does), as "the filter MUST NOT be skipped... requests that would have been
//   processed by that filter MUST receive a HTTP error response".

import type { ClusterIR, CorsIR, FilterIR, HeaderModifierIR, PathModifierIR } from '../ir.ts';
import type { Backends } from './backends.ts';
import type { Problem } from './conditions.ts';
import { arr, bool, has, int, rec, str, strs, text } from './read.ts';

/** What compiling one rule's filters needs and what it reports. */
export interface FilterContext {
  readonly backends: Backends;
  readonly namespace: string;
  /** The rule's single PathPrefix value, for ReplacePrefixMatch; null when the rule has no such match. */
  readonly prefix: string | null;
  /** Accepted False, reason UnsupportedValue. */
  readonly unsupported: string[];
  /** Accepted False, reason IncompatibleFilters. */
  readonly incompatible: string[];
  /** ResolvedRefs False. */
  readonly refProblems: Problem[];
  /** Clusters the compiled filters use. */
  readonly clusters: Map<string, ClusterIR>;
  /** The route's kind (ReferenceGrants name it; a GRPCRoute's mirrors speak h2c); HTTPRoute when absent. */
  readonly routeKind?: 'HTTPRoute' | 'GRPCRoute';
}

const REPEATABLE = new Set(['RequestMirror', 'ExtensionRef']);
const BACKEND_LEVEL = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier']);
const STATUS_CODES = new Set([301, 302, 303, 307, 308]);

function headers(raw: unknown): HeaderModifierIR {
  const h = rec(raw);
  const pairs = (list: unknown) =>
    arr(list)
      .filter((e) => text(rec(e).name) !== undefined)
      .map((e) => ({ name: (rec(e).name as string).toLowerCase(), value: str(rec(e).value) ?? '' }));
  return { set: pairs(h.set), add: pairs(h.add), remove: strs(h.remove).map((n) => n.toLowerCase()) };
}

function pathModifier(raw: unknown, ctx: FilterContext): PathModifierIR | null {
  if (!has(raw)) return null;
  const p = rec(raw);
  const type = str(p.type);
  if (type === 'ReplaceFullPath' && str(p.replaceFullPath) !== undefined)
    return { type, value: p.replaceFullPath as string, prefix: null };
  if (type === 'ReplacePrefixMatch' && str(p.replacePrefixMatch) !== undefined) {
    if (ctx.prefix === null)
      ctx.unsupported.push('ReplacePrefixMatch needs a rule with exactly one PathPrefix match.');
    return { type, value: p.replacePrefixMatch as string, prefix: ctx.prefix ?? '/' };
  }
  ctx.unsupported.push(`Unsupported path modifier ${type ?? '(none)'}.`);
  return null;
}

function cors(raw: Readonly<Record<string, unknown>>): CorsIR {
  return {
    allowOrigins: strs(raw.allowOrigins),
    allowMethods: strs(raw.allowMethods),
    allowHeaders: strs(raw.allowHeaders),
    exposeHeaders: strs(raw.exposeHeaders),
    allowCredentials: bool(raw.allowCredentials) ?? false,
    maxAge: Math.max(1, int(raw.maxAge) ?? 5),
  };
}

function mirrorPercent(m: Readonly<Record<string, unknown>>): number | null {
  const percent = int(m.percent);
  if (percent !== undefined) return percent >= 0 && percent <= 100 ? percent : null;
  if (!has(m.fraction)) return 100;
  const numerator = int(rec(m.fraction).numerator);
  const denominator = int(rec(m.fraction).denominator) ?? 100;
  if (numerator === undefined || numerator < 0 || denominator <= 0 || numerator > denominator) return null;
  return (numerator * 100) / denominator;
}

function compileOne(type: string, f: Readonly<Record<string, unknown>>, ctx: FilterContext): FilterIR | null {
  switch (type) {
    case 'RequestHeaderModifier':
      return has(f.requestHeaderModifier) ? { type, headers: headers(f.requestHeaderModifier) } : null;
    case 'ResponseHeaderModifier':
      return has(f.responseHeaderModifier) ? { type, headers: headers(f.responseHeaderModifier) } : null;
    case 'RequestRedirect': {
      if (!has(f.requestRedirect)) return null;
      const r = rec(f.requestRedirect);
      const scheme = str(r.scheme) ?? null;
      const statusCode = int(r.statusCode) ?? 302;
      const port = int(r.port) ?? null;
      if (scheme !== null && scheme !== 'http' && scheme !== 'https')
        ctx.unsupported.push(`Unsupported scheme ${scheme}.`);
      if (!STATUS_CODES.has(statusCode))
        ctx.unsupported.push(`Unsupported redirect status code ${statusCode}.`);
      if (port !== null && (port < 1 || port > 65535))
        ctx.unsupported.push(`Unsupported redirect port ${port}.`);
      const redirect = {
        scheme: scheme === 'https' ? 'https' : scheme === 'http' ? 'http' : null,
        hostname: text(r.hostname) ?? null,
        path: pathModifier(r.path, ctx),
        port,
        statusCode: (STATUS_CODES.has(statusCode) ? statusCode : 302) as 301 | 302 | 303 | 307 | 308,
      } as const;
      return { type, redirect };
    }
    case 'URLRewrite': {
      if (!has(f.urlRewrite)) return null;
      const r = rec(f.urlRewrite);
      return { type, rewrite: { hostname: text(r.hostname) ?? null, path: pathModifier(r.path, ctx) } };
    }
    case 'RequestMirror': {
      if (!has(f.requestMirror)) return null;
      const m = rec(f.requestMirror);
      const percent = mirrorPercent(m);
      if (percent === null) ctx.unsupported.push('RequestMirror percent or fraction is out of range.');
      const target = ctx.backends.resolve(m.backendRef, ctx.namespace, ctx.routeKind);
      if ('reason' in target) ctx.refProblems.push(target);
      else ctx.clusters.set(target.name, target);
      return { type, mirror: { cluster: 'reason' in target ? null : target.name, percent: percent ?? 100 } };
    }
    case 'CORS':
      return has(f.cors) ? { type, cors: cors(rec(f.cors)) } : null;
    default:
      return null;
  }
}

/** Compiles a filter list; `unresolved` when an ExtensionRef makes the rule answer 500. */
export function compileFilters(
  list: unknown,
  ctx: FilterContext,
  level: 'rule' | 'backend',
): { filters: FilterIR[]; unresolved: boolean } {
  const filters: FilterIR[] = [];
  const seen = new Set<string>();
  let unresolved = false;
  for (const raw of arr(list)) {
    const f = rec(raw);
    const type = str(f.type) ?? '(none)';
    if (seen.has(type) && !REPEATABLE.has(type)) ctx.incompatible.push(`Filter ${type} is repeated.`);
    seen.add(type);
    if (type === 'ExtensionRef') {
      const ref = rec(f.extensionRef);
      const kind = `${str(ref.group) ?? ''}/${str(ref.kind) ?? ''}`;
      ctx.refProblems.push({
        reason: 'InvalidKind',
        message: `ExtensionRef filter kind ${kind} is not supported.`,
      });
      unresolved = true;
      continue;
    }
    if (level === 'backend' && !BACKEND_LEVEL.has(type)) {
      ctx.unsupported.push(`Filter ${type} is not supported on a backendRef.`);
      continue;
    }
    const compiled = compileOne(type, f, ctx);
    if (compiled === null)
      ctx.unsupported.push(`Unsupported filter ${type} (or its configuration is missing).`);
    else filters.push(compiled);
  }
  if (seen.has('RequestRedirect') && seen.has('URLRewrite'))
    ctx.incompatible.push('RequestRedirect and URLRewrite cannot be used together.');
  return { filters, unresolved };
}
