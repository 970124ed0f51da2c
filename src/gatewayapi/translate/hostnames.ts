// Hostname matching for listeners and routes. Hostnames are lower-case names or `*.suffix`
// wildcards; a wildcard matches one or more labels in front of its suffix (`*.example.com` matches
// `a.example.com` and `a.b.example.com`, not `example.com`). `*` stands for "any host".

import { compareStrings } from './read.ts';

/** The lower-cased hostname, or null for empty/absent (any host). */
export function normalizeHostname(h: string | undefined): string | null {
  return h === undefined || h === '' ? null : h.toLowerCase();
}

function isWildcard(h: string): boolean {
  return h.startsWith('*.');
}

/** True when `outer` matches every host that `inner` matches. */
export function covers(outer: string, inner: string): boolean {
  if (outer === '*' || outer === inner) return true;
  if (!isWildcard(outer) || inner === '*') return false;
  const suffix = outer.slice(1); // `.example.com`
  const innerName = isWildcard(inner) ? inner.slice(2) : inner;
  return innerName.endsWith(suffix) && innerName.length > suffix.length;
}

/**
 * Every hostname that `covers` `host`: itself, the wildcards of its parent domains, and `*`
 * (`a.b.c` → `a.b.c`, `*.b.c`, `*.c`, `*`).
 */
export function coveringHostnames(host: string): string[] {
  const out = [host];
  if (host === '*') return out;
  const name = isWildcard(host) ? host.slice(2) : host;
  for (let i = name.indexOf('.', 1); i > 0; i = name.indexOf('.', i + 1)) out.push(`*${name.slice(i)}`);
  out.push('*');
  return out;
}

/** The hostnames a request must have to match both, or null when none does. */
export function intersect(listener: string | null, route: string): string | null {
  if (listener === null || covers(listener, route)) return route;
  if (covers(route, listener)) return listener;
  return null;
}

/**
 * Orders hostnames most specific first: exact names (more characters first), then wildcards (more
 * characters first), then `*`; ties alphabetically. The spec's rule for listeners and for route
 * precedence ("largest number of characters in a matching non-wildcard hostname, then in a matching
 * hostname"). `null` (no hostname) sorts like `*`.
 */
export function compareSpecificity(a: string | null, b: string | null): number {
  const a0 = exactLength(a);
  const b0 = exactLength(b);
  if (a0 !== b0) return b0 - a0;
  const a1 = anyLength(a);
  const b1 = anyLength(b);
  if (a1 !== b1) return b1 - a1;
  return compareStrings(a ?? '', b ?? '');
}

/** The length of an exact name; 0 for a wildcard, -1 for `*` or none. */
function exactLength(h: string | null): number {
  if (h === null || h === '*') return -1;
  return isWildcard(h) ? 0 : h.length;
}

/** The length of a name or wildcard; -1 for `*` or none. */
function anyLength(h: string | null): number {
  return h === null || h === '*' ? -1 : h.length;
}
