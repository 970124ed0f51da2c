// HTTPRoute matches and their precedence. The spec orders matches by: Exact path, then PathPrefix by
// length, then method, then number of header matches, then number of query matches. RegularExpression
// precedence is implementation-specific: kubegate puts it between Exact and PathPrefix (longer patterns
// first), as Envoy Gateway does, so a catch-all prefix does not hide regex routes.

import type { MatchIR, ValueMatchIR } from '../ir.ts';
import { arr, rec, str, text } from './read.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
/** What a route rule without matches matches: every request. */
export const DEFAULT_MATCH: MatchIR = {
  path: { type: 'PathPrefix', value: '/' },
  method: null,
  headers: [],
  queryParams: [],
};

function validRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

function valueMatches(list: unknown, what: string, lowerNames: boolean, issues: string[]): ValueMatchIR[] {
  const out: ValueMatchIR[] = [];
  for (const raw of arr(list)) {
    const h = rec(raw);
    const type = str(h.type) ?? 'Exact';
    const name = text(h.name);
    const value = str(h.value) ?? '';
    if (name === undefined) issues.push(`A ${what} match has no name.`);
    else if (type !== 'Exact' && type !== 'RegularExpression')
      issues.push(`Unsupported ${what} match type ${type}.`);
    else if (type === 'RegularExpression' && !validRegex(value))
      issues.push(`Invalid ${what} regex ${value}.`);
    else out.push({ type, name: lowerNames ? name.toLowerCase() : name, value });
  }
  return out;
}

function compileMatch(raw: unknown, issues: string[]): MatchIR {
  const m = rec(raw);
  const p = rec(m.path);
  const type = str(p.type) ?? 'PathPrefix';
  const value = str(p.value) ?? '/';
  let path: MatchIR['path'] = DEFAULT_MATCH.path;
  if (type === 'Exact' || type === 'PathPrefix') {
    if (value.startsWith('/')) path = { type, value };
    else issues.push(`Path ${value} does not start with "/".`);
  } else if (type === 'RegularExpression') {
    if (validRegex(value)) path = { type, value };
    else issues.push(`Invalid path regex ${value}.`);
  } else issues.push(`Unsupported path match type ${type}.`);
  const methodText = str(m.method);
  if (methodText !== undefined && !METHODS.has(methodText)) issues.push(`Unsupported method ${methodText}.`);
  return {
    path,
    method: methodText !== undefined && METHODS.has(methodText) ? methodText : null,
    headers: valueMatches(m.headers, 'header', true, issues),
    queryParams: valueMatches(m.queryParams, 'query parameter', false, issues),
  };
}

/** The matches of a rule (a rule without matches matches every request); problems go to `issues`. */
export function compileMatches(matches: unknown, issues: string[]): MatchIR[] {
  const list = arr(matches);
  return list.length === 0 ? [DEFAULT_MATCH] : list.map((m) => compileMatch(m, issues));
}

const PATH_ORDER = { Exact: 0, RegularExpression: 1, PathPrefix: 2 } as const;

/** Negative when `a` takes precedence over `b`, by the spec's match criteria (0 on a tie). */
export function compareMatches(a: MatchIR, b: MatchIR): number {
  if (a.path.type !== b.path.type) return PATH_ORDER[a.path.type] - PATH_ORDER[b.path.type];
  if (a.path.value.length !== b.path.value.length) return b.path.value.length - a.path.value.length;
  if ((a.method === null) !== (b.method === null)) return a.method === null ? 1 : -1;
  if (a.headers.length !== b.headers.length) return b.headers.length - a.headers.length;
  return b.queryParams.length - a.queryParams.length;
}
