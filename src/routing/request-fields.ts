import type { Identity, RequestInfo } from '../request/types.ts';
import { notResourceRequest, outcome, quote, type FieldMatcher } from './field.ts';
import { PatternList } from './pattern.ts';
import { combinedResource, NonResourceURLList, ResourceList } from './rbac.ts';

// The fields about what a request asks for. Resource selectors (apiGroups, resources, namespaces,
// names) never match a non-resource request and nonResourceURLs never matches a resource request,
// in `match` and in `exclude` alike, as in an RBAC PolicyRule.

/** `verbs`: the Kubernetes verb, or the lowercase HTTP method of a non-resource request. */
export class VerbsField implements FieldMatcher {
  readonly field = 'verbs';
  readonly #list: PatternList;
  constructor(patterns: readonly string[]) {
    this.#list = new PatternList(patterns);
  }
  test(info: RequestInfo): boolean {
    return this.#list.has(info.verb);
  }
  describe(info: RequestInfo): string {
    const l = this.#list;
    return outcome(info.verb, l.sources, l.find(info.verb), l.hasWildcards);
  }
}

/** `apiGroups`: `""` is the core group. */
export class APIGroupsField implements FieldMatcher {
  readonly field = 'apiGroups';
  readonly #list: PatternList;
  constructor(patterns: readonly string[]) {
    this.#list = new PatternList(patterns);
  }
  test(info: RequestInfo): boolean {
    return info.isResourceRequest && this.#list.has(info.apiGroup);
  }
  describe(info: RequestInfo): string {
    if (!info.isResourceRequest) return notResourceRequest(info);
    const l = this.#list;
    return outcome(info.apiGroup, l.sources, l.find(info.apiGroup), l.hasWildcards);
  }
}

/** `resources`: RBAC's resource matching (see rbac.ts). */
export class ResourcesField implements FieldMatcher {
  readonly field = 'resources';
  readonly #list: ResourceList;
  constructor(entries: readonly string[]) {
    this.#list = new ResourceList(entries);
  }
  test(info: RequestInfo): boolean {
    return info.isResourceRequest && this.#list.has(info.resource, info.subresource);
  }
  describe(info: RequestInfo): string {
    if (!info.isResourceRequest) return notResourceRequest(info);
    const l = this.#list;
    const value = combinedResource(info.resource, info.subresource);
    return outcome(value, l.sources, l.find(info.resource, info.subresource), false);
  }
}

/** `namespaces`: `""` is a cluster-scoped request (or a request across all namespaces). */
export class NamespacesField implements FieldMatcher {
  readonly field = 'namespaces';
  readonly #list: PatternList;
  constructor(patterns: readonly string[]) {
    this.#list = new PatternList(patterns);
  }
  test(info: RequestInfo): boolean {
    return info.isResourceRequest && this.#list.has(info.namespace);
  }
  describe(info: RequestInfo): string {
    if (!info.isResourceRequest) return notResourceRequest(info);
    const l = this.#list;
    return outcome(info.namespace, l.sources, l.find(info.namespace), l.hasWildcards);
  }
}

/** `names`: the object name (`""` for list, watch without a name, create, deletecollection). */
export class NamesField implements FieldMatcher {
  readonly field = 'names';
  readonly #list: PatternList;
  constructor(patterns: readonly string[]) {
    this.#list = new PatternList(patterns);
  }
  test(info: RequestInfo): boolean {
    return info.isResourceRequest && this.#list.has(info.name);
  }
  describe(info: RequestInfo): string {
    if (!info.isResourceRequest) return notResourceRequest(info);
    const l = this.#list;
    return outcome(info.name, l.sources, l.find(info.name), l.hasWildcards);
  }
}

/** `nonResourceURLs`: RBAC's non-resource URL matching (see rbac.ts). */
export class NonResourceURLsField implements FieldMatcher {
  readonly field = 'nonResourceURLs';
  readonly #list: NonResourceURLList;
  constructor(entries: readonly string[]) {
    this.#list = new NonResourceURLList(entries);
  }
  test(info: RequestInfo): boolean {
    return !info.isResourceRequest && this.#list.has(info.path);
  }
  describe(info: RequestInfo, _identity: Identity, _clientIP: string): string {
    if (info.isResourceRequest) return `${quote(info.path)} is a resource request`;
    const l = this.#list;
    return outcome(
      info.path,
      l.sources,
      l.find(info.path),
      l.sources.some((s) => s.endsWith('*')),
    );
  }
}
