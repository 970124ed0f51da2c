// GRPCRoute matches as the HTTP matches the data plane already serves: a gRPC call is a POST to
// `/<package.Service>/<Method>`, so a method match is a path match (Exact when both names are
// given, a regular expression otherwise), and header matches are HTTP header matches.

import type { MatchIR, ValueMatchIR } from '../ir.ts';
import { DEFAULT_MATCH } from './matches.ts';
import { arr, rec, str, text } from './read.ts';

const ANY_SEGMENT = '[^/]+';

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function validRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

function methodPath(raw: unknown, issues: string[]): MatchIR['path'] {
  if (raw === undefined) return DEFAULT_MATCH.path;
  const m = rec(raw);
  const type = str(m.type) ?? 'Exact';
  const service = text(m.service);
  const method = text(m.method);
  if (service === undefined && method === undefined) {
    issues.push('A gRPC method match needs a service or a method.');
    return DEFAULT_MATCH.path;
  }
  if (type === 'Exact') {
    if (service !== undefined && method !== undefined)
      return { type: 'Exact', value: `/${service}/${method}` };
    const s = service === undefined ? ANY_SEGMENT : escapeRegex(service);
    const me = method === undefined ? ANY_SEGMENT : escapeRegex(method);
    return { type: 'RegularExpression', value: `/${s}/${me}` };
  }
  if (type === 'RegularExpression') {
    for (const v of [service, method])
      if (v !== undefined && !validRegex(v)) {
        issues.push(`Invalid gRPC method regex ${v}.`);
        return DEFAULT_MATCH.path;
      }
    // Each part within its own path segment, as an anchored whole.
    return {
      type: 'RegularExpression',
      value: `/(?:${service ?? ANY_SEGMENT})/(?:${method ?? ANY_SEGMENT})`,
    };
  }
  issues.push(`Unsupported gRPC method match type ${type}.`);
  return DEFAULT_MATCH.path;
}

function headerMatches(list: unknown, issues: string[]): ValueMatchIR[] {
  const out: ValueMatchIR[] = [];
  for (const raw of arr(list)) {
    const h = rec(raw);
    const type = str(h.type) ?? 'Exact';
    const name = text(h.name);
    const value = str(h.value) ?? '';
    if (name === undefined) issues.push('A header match has no name.');
    else if (type !== 'Exact' && type !== 'RegularExpression')
      issues.push(`Unsupported header match type ${type}.`);
    else if (type === 'RegularExpression' && !validRegex(value))
      issues.push(`Invalid header regex ${value}.`);
    else out.push({ type, name: name.toLowerCase(), value });
  }
  return out;
}

/** The matches of a GRPCRoute rule (none matches every call); problems go to `issues`. */
export function compileGRPCMatches(matches: unknown, issues: string[]): MatchIR[] {
  const list = arr(matches);
  if (list.length === 0) return [DEFAULT_MATCH];
  return list.map((raw) => {
    const m = rec(raw);
    return {
      path: methodPath(m.method, issues),
      method: null,
      headers: headerMatches(m.headers, issues),
      queryParams: [],
    };
  });
}
