// How KubeGateway compares each rule field, entry by entry, next to how kubegate does. KubeGateway
// compares literally except for `*` alone, a trailing `*` in users and nonResourceURLs (prefix), and
// `*/sub` in resources; kubegate reads `*` as "any run of characters" in verbs, apiGroups, names,
// users and groups, and follows RBAC in resources and nonResourceURLs. An entry whose meaning differs
// is reported, never silently changed.

/** Why a plain entry cannot be copied: `matchable` is false when KubeGateway never matches it either. */
export interface EntryProblem {
  reason: string;
  matchable: boolean;
}

/** How one KubeGateway field reads its entries. */
export interface FieldProfile {
  /** The kubegate `match` / `exclude` field it becomes. */
  field: 'verbs' | 'apiGroups' | 'resources' | 'names' | 'groups' | 'users' | 'nonResourceURLs';
  /** What an absent or empty list means in KubeGateway. */
  empty: 'any' | 'never';
  /** Why a plain entry cannot be copied as it is, or null. */
  plainProblem(value: string): EntryProblem | null;
  /** True when `-value` holds for every request: KubeGateway compares literally and no request has `value`. */
  negationAlwaysHolds(value: string): boolean;
}

const literalStar = (what: string, matchable: boolean) => (value: string) =>
  value.includes('*')
    ? {
        reason: matchable
          ? `"${value}": KubeGateway compares it literally, kubegate would read "*" as a wildcard`
          : `"${value}": KubeGateway compares it literally and no ${what} contains "*", so it never matched`,
        matchable,
      }
    : null;

/** `verbs`: lowercase Kubernetes verbs or HTTP methods; empty matches nothing. */
export const VERBS: FieldProfile = {
  field: 'verbs',
  empty: 'never',
  plainProblem(value) {
    if (value === '' || value !== value.toLowerCase())
      return { reason: `"${value}" never matched: verbs and HTTP methods are lowercase`, matchable: false };
    return literalStar('verb', false)(value);
  },
  negationAlwaysHolds: (value) => value === '' || value.includes('*') || value !== value.toLowerCase(),
};

/** `apiGroups`: `""` is the core group (a lone `-` negates it); empty matches nothing. */
export const API_GROUPS: FieldProfile = {
  field: 'apiGroups',
  empty: 'never',
  plainProblem: literalStar('API group', false),
  negationAlwaysHolds: (value) => value.includes('*'),
};

/** `resources`: the same RBAC comparison in both (`pods`, `pods/log`, `*\/scale`); empty matches nothing. */
export const RESOURCES: FieldProfile = {
  field: 'resources',
  empty: 'never',
  plainProblem(value) {
    const parts = value.split('/');
    const wellFormed = parts.length <= 2 && parts.every((p) => p !== '');
    const starOK =
      !value.includes('*') || (parts.length === 2 && parts[0] === '*' && !parts[1].includes('*'));
    return wellFormed && starOK
      ? null
      : {
          reason: `"${value}" never matched: RBAC-style resources are resource, resource/subresource or */subresource`,
          matchable: false,
        };
  },
  // `*` and `*/sub` are wildcards only when plain; negated, KubeGateway compares them literally.
  negationAlwaysHolds: (value) => value.includes('*') || value === '',
};

/** `resourceNames`: empty matches every name; object names may contain `*`. */
export const RESOURCE_NAMES: FieldProfile = {
  field: 'names',
  empty: 'any',
  plainProblem(value) {
    if (value === '')
      return {
        reason: '"" (requests without an object name) cannot be written in kubegate names',
        matchable: true,
      };
    return literalStar('object name', true)(value);
  },
  negationAlwaysHolds: () => false,
};

/** `userGroups`: empty matches everyone; a request carries all of the user's groups. */
export const USER_GROUPS: FieldProfile = {
  field: 'groups',
  empty: 'any',
  plainProblem(value) {
    if (value === '') return { reason: '"" is no group anyone has', matchable: false };
    return literalStar('group', true)(value);
  },
  negationAlwaysHolds: () => false,
};

/** `users`: a trailing run of `*` is a prefix match in both; any other `*` is literal in KubeGateway. */
export const USERS: FieldProfile = {
  field: 'users',
  empty: 'never',
  plainProblem(value) {
    if (value === '') return { reason: '"" is no user name', matchable: false };
    const head = value.replace(/\*+$/, '');
    return head.includes('*')
      ? {
          reason: `"${value}": KubeGateway reads only a trailing "*" as a prefix match; kubegate would read the inner "*" as a wildcard`,
          matchable: true,
        }
      : null;
  },
  // A negated `prefix*` also passes users with that prefix (KubeGateway applies its prefix test to
  // negated entries too), so together it passes everyone.
  negationAlwaysHolds: (value) => value === '' || value.endsWith('*'),
};

/** `nonResourceURLs`: the same RBAC comparison in both (`/healthz`, `/logs/*`, `*`); empty matches nothing. */
export const NON_RESOURCE_URLS: FieldProfile = {
  field: 'nonResourceURLs',
  empty: 'never',
  plainProblem(value) {
    if (!value.startsWith('/'))
      return { reason: `"${value}" never matched: request paths start with "/"`, matchable: false };
    const head = value.replace(/\*+$/, '');
    return head.includes('*')
      ? {
          reason: `"${value}": both compare an inner "*" literally, but kubegate accepts "*" only at the end`,
          matchable: true,
        }
      : null;
  },
  negationAlwaysHolds: () => false,
};
