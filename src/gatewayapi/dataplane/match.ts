import type { MatchIR, ValueMatchIR } from '../ir.ts';

/** What a route match looks at in a request. */
export interface MatchInput {
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
  /** A header by lower-case name, repeated lines joined with `,`; undefined when absent. */
  header(name: string): string | undefined;
  /** The first value of a query parameter (exact, case-sensitive name); null when absent. */
  queryParam(name: string): string | null;
}

const EXACT = 0;
const PREFIX = 1;
const REGEX = 2;

/** A regular expression that must match the whole value (as Envoy's safe_regex does). */
function wholeValue(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

class ValueMatcher {
  readonly name: string;
  readonly #exact: string | null;
  readonly #regex: RegExp | null;

  constructor(m: ValueMatchIR, lowerName: boolean) {
    this.name = lowerName ? m.name.toLowerCase() : m.name;
    this.#exact = m.type === 'Exact' ? m.value : null;
    this.#regex = m.type === 'RegularExpression' ? wholeValue(m.value) : null;
  }

  test(value: string | undefined | null): boolean {
    if (value === undefined || value === null) return false;
    return this.#exact !== null ? value === this.#exact : this.#regex!.test(value);
  }
}

/**
 * One compiled `MatchIR`; regular expressions are compiled here, once per apply, and a bad one
 * throws (the caller then drops the route). Paths are compared as sent (no decoding).
 */
export class RouteMatcher {
  readonly #kind: number;
  /** Exact: the path; PathPrefix: the prefix without its trailing slash (`''` for `/`). */
  readonly #path: string;
  readonly #regex: RegExp | null;
  readonly #method: string | null;
  readonly #headers: readonly ValueMatcher[];
  readonly #query: readonly ValueMatcher[];
  /** PathPrefix only: the prefix a ReplacePrefixMatch replaces. */
  readonly prefix: string | null;

  constructor(m: MatchIR) {
    const p = m.path;
    this.#kind = p.type === 'Exact' ? EXACT : p.type === 'PathPrefix' ? PREFIX : REGEX;
    this.#path = this.#kind === PREFIX ? trimTrailingSlashes(p.value) : p.value;
    this.#regex = this.#kind === REGEX ? wholeValue(p.value) : null;
    this.prefix = this.#kind === PREFIX ? p.value : null;
    this.#method = m.method === null ? null : m.method.toUpperCase();
    this.#headers = m.headers.map((h) => new ValueMatcher(h, true));
    this.#query = m.queryParams.map((q) => new ValueMatcher(q, false));
  }

  matches(r: MatchInput): boolean {
    if (!this.#pathMatches(r.path)) return false;
    if (this.#method !== null && r.method !== this.#method) return false;
    const h = this.#headers;
    for (let i = 0; i < h.length; i++) if (!h[i].test(r.header(h[i].name))) return false;
    const q = this.#query;
    for (let i = 0; i < q.length; i++) if (!q[i].test(r.queryParam(q[i].name))) return false;
    return true;
  }

  #pathMatches(path: string): boolean {
    switch (this.#kind) {
      case EXACT:
        return path === this.#path;
      case PREFIX: {
        // Segment-wise: `/foo` matches `/foo`, `/foo/` and `/foo/bar`, never `/foobar`.
        const pre = this.#path;
        if (!path.startsWith(pre)) return false;
        return path.length === pre.length || path.charCodeAt(pre.length) === 47; /* '/' */
      }
      default:
        return this.#regex!.test(path);
    }
  }
}

/** `/foo/` → `/foo`, `/` → `''`. */
export function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return end === path.length ? path : path.slice(0, end);
}
