// `resources` and `nonResourceURLs` are matched exactly as RBAC matches a PolicyRule
// (k8s.io/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go, ResourceMatches and NonResourceURLMatches),
// so a rule reads the same as the ClusterRole it mirrors. RBAC is *not* a glob:
//   resources:  `*` matches everything; otherwise the entry is compared with `resource` or, when the
//               request has a subresource, `resource/subresource`; `*/sub` also matches subresource
//               `sub` of any resource. So `pods` never matches `pods/log`, and `pods/*` matches only a
//               subresource literally named `*` (checkRule reports it).
//   URLs:       `*` matches every path; otherwise exact, or, when the entry ends in `*`, a prefix match
//               on the entry without its trailing `*`s. A `*` anywhere else is literal.

/** A compiled `resources` list. */
export class ResourceList {
  /** The entries as written, in order (for explanations). */
  readonly sources: readonly string[];
  readonly #all: boolean;
  /** resource → the subresources it is listed with (`''` = listed without one). */
  readonly #exact: ReadonlyMap<string, ReadonlySet<string>>;
  /** Subresources listed as a star, a slash and the subresource (any resource). */
  readonly #anyResource: ReadonlySet<string>;

  constructor(entries: readonly string[]) {
    this.sources = Object.freeze([...entries]);
    const exact = new Map<string, Set<string>>();
    const anyResource = new Set<string>();
    let all = false;
    for (const e of entries) {
      if (e === '*') all = true;
      const [resource, subresource] = splitResource(e);
      // `pods/` would need an empty subresource, which a request never has next to a slash.
      if (subresource !== null && subresource === '') continue;
      let subs = exact.get(resource);
      if (subs === undefined) exact.set(resource, (subs = new Set()));
      subs.add(subresource ?? '');
      if (resource === '*' && subresource !== null) anyResource.add(subresource);
    }
    this.#all = all;
    this.#exact = exact;
    this.#anyResource = anyResource;
  }

  /** True when the request's resource and subresource (`''` for none) match. Allocation-free. */
  has(resource: string, subresource: string): boolean {
    if (this.#all) return true;
    const subs = this.#exact.get(resource);
    if (subs !== undefined && subs.has(subresource)) return true;
    return subresource !== '' && this.#anyResource.has(subresource);
  }

  /** The index of the first entry that matches, or -1. */
  find(resource: string, subresource: string): number {
    const combined = subresource === '' ? resource : `${resource}/${subresource}`;
    return this.sources.findIndex(
      (e) => e === '*' || e === combined || (subresource !== '' && e === `*/${subresource}`),
    );
  }
}

/** `pods/log` → [`pods`, `log`]; `pods` → [`pods`, null]. Splits at the first `/`. */
export function splitResource(entry: string): [string, string | null] {
  const slash = entry.indexOf('/');
  return slash < 0 ? [entry, null] : [entry.slice(0, slash), entry.slice(slash + 1)];
}

/** The RBAC text of a request's resource: `pods` or `pods/log`. */
export function combinedResource(resource: string, subresource: string): string {
  return subresource === '' ? resource : `${resource}/${subresource}`;
}

/** A compiled `nonResourceURLs` list. */
export class NonResourceURLList {
  /** The entries as written, in order (for explanations). */
  readonly sources: readonly string[];
  readonly #all: boolean;
  readonly #exact: ReadonlySet<string>;
  readonly #prefixes: readonly string[];

  constructor(entries: readonly string[]) {
    this.sources = Object.freeze([...entries]);
    const exact = new Set<string>();
    const prefixes: string[] = [];
    let all = false;
    for (const e of entries) {
      if (e === '*') all = true;
      exact.add(e);
      if (e.endsWith('*')) prefixes.push(trimStars(e));
    }
    this.#all = all;
    this.#exact = exact;
    this.#prefixes = prefixes;
  }

  /** True when the request path matches. Allocation-free. */
  has(path: string): boolean {
    if (this.#all || this.#exact.has(path)) return true;
    const prefixes = this.#prefixes;
    for (let i = 0; i < prefixes.length; i++) if (path.startsWith(prefixes[i])) return true;
    return false;
  }

  /** The index of the first entry that matches, or -1. */
  find(path: string): number {
    return this.sources.findIndex(
      (e) => e === '*' || e === path || (e.endsWith('*') && path.startsWith(trimStars(e))),
    );
  }
}

/** Go's strings.TrimRight(s, "*"). */
function trimStars(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 42) end--;
  return s.slice(0, end);
}
