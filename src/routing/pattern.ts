// Name patterns of routing rules: `*` stands for any run of characters (including none), everything
// else is literal, and a pattern always covers the whole value (`kube-*` matches `kube-system`, not
// `xkube-system`). Each list is sorted at load time by the cheapest test that decides it, so the
// request path only compares strings (a Set when there are many), startsWith/endsWith, and (rarely)
// a precompiled RegExp.

/** Up to this many exact patterns are compared one by one: cheaper than hashing the value. */
const FEW = 4;
const REGEXP_SPECIAL = /[\\^$.|?+()[\]{}/-]/g;

/** The anchored RegExp of one pattern containing `*`. */
export function globRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((lit) => lit.replace(REGEXP_SPECIAL, '\\$&'))
    .join('.*');
  // `s`: a `*` also runs over line breaks, so a value can never slip past a pattern by containing one.
  return new RegExp(`^${body}$`, 's');
}

/** True when `pattern` stands for every value (`*`, `**`, …). */
export function isMatchAll(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) if (pattern.charCodeAt(i) !== 42) return false;
  return pattern.length > 0;
}

/** A compiled list of patterns; a value matches the list when it matches any one of them. */
export class PatternList {
  /** The patterns as written, in order (for explanations). */
  readonly sources: readonly string[];
  /** True when some pattern contains `*`. */
  readonly hasWildcards: boolean;
  readonly #all: boolean;
  /** Exact patterns: compared one by one when few (faster than hashing), else looked up in a Set. */
  readonly #few: readonly string[];
  readonly #exact: ReadonlySet<string> | null;
  readonly #prefixes: readonly string[];
  readonly #suffixes: readonly string[];
  readonly #regexps: readonly RegExp[];
  /**
   * One tester per source, in order, used only by `find` (it may be slower, never different). Built
   * on the first `find`: only explanations need it, and compiling a RegExp per wildcard pattern up
   * front was most of the time a reload of many rules spent here.
   */
  #each: readonly (string | RegExp)[] | null = null;

  constructor(patterns: readonly string[]) {
    this.sources = Object.freeze([...patterns]);
    const exact = new Set<string>();
    const prefixes: string[] = [];
    const suffixes: string[] = [];
    const regexps: RegExp[] = [];
    let all = false;
    let wildcards = false;
    for (const p of patterns) {
      const star = p.indexOf('*');
      if (star >= 0) wildcards = true;
      if (star < 0) exact.add(p);
      else if (isMatchAll(p)) all = true;
      else if (star === p.length - 1) prefixes.push(p.slice(0, -1));
      else if (star === 0 && p.indexOf('*', 1) < 0) suffixes.push(p.slice(1));
      else regexps.push(globRegExp(p));
    }
    this.hasWildcards = wildcards;
    this.#all = all;
    this.#few = exact.size <= FEW ? [...exact] : [];
    this.#exact = exact.size <= FEW ? null : exact;
    this.#prefixes = prefixes;
    this.#suffixes = suffixes;
    this.#regexps = regexps;
  }

  /** True when `value` matches one of the patterns. Allocation-free. */
  has(value: string): boolean {
    if (this.#all) return true;
    const few = this.#few;
    for (let i = 0; i < few.length; i++) if (few[i] === value) return true;
    if (this.#exact !== null && this.#exact.has(value)) return true;
    const prefixes = this.#prefixes;
    for (let i = 0; i < prefixes.length; i++) if (value.startsWith(prefixes[i])) return true;
    const suffixes = this.#suffixes;
    for (let i = 0; i < suffixes.length; i++) if (value.endsWith(suffixes[i])) return true;
    const regexps = this.#regexps;
    for (let i = 0; i < regexps.length; i++) if (regexps[i].test(value)) return true;
    return false;
  }

  /** The index of the first pattern (in written order) that `value` matches, or -1. */
  find(value: string): number {
    const each = (this.#each ??= this.sources.map((p) => (p.includes('*') ? globRegExp(p) : p)));
    for (let i = 0; i < each.length; i++) {
      const t = each[i];
      if (typeof t === 'string' ? t === value : t.test(value)) return i;
    }
    return -1;
  }
}
