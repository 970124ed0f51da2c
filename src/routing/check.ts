import type { Match } from '../config/schema/match.ts';
import type { Rule } from '../config/schema/rule.ts';
import { parseCIDR } from './cidr.ts';
import { FIELD_ORDER, RESOURCE_FIELDS, type MatchField } from './field.ts';

/** One thing wrong with a configuration: the exact field and why. */
export interface ConfigIssue {
  /** Field path, e.g. `clusters[0].rules[2].match.clientCIDRs[1]`. */
  path: string;
  message: string;
}

/** Fields where `""` means something: the core group, cluster-scoped requests. */
const EMPTY_ALLOWED: ReadonlySet<MatchField> = new Set(['apiGroups', 'namespaces']);

/**
 * What the JSON schema cannot say about one rule at `path` (e.g. `clusters[0].rules[2]`): entries
 * that are not what their field expects or can never match, a `match` that selects both resource
 * and non-resource requests, and `deny` without `action: deny`.
 */
export function checkRule(rule: Rule, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (field: string) => (path === '' ? field : `${path}.${field}`);
  for (const side of ['match', 'exclude'] as const) {
    const m = rule[side];
    if (m === undefined) continue;
    for (const field of FIELD_ORDER) {
      const list = m[field];
      if (list === undefined) continue;
      const fieldPath = at(`${side}.${field}`);
      if (list.length === 0) {
        issues.push({
          path: fieldPath,
          message:
            side === 'match'
              ? 'an empty list matches no request; leave the field out to match any'
              : 'an empty list excludes nothing; leave the field out',
        });
      }
      list.forEach((entry, i) => {
        const message = entryProblem(field, entry);
        if (message !== null) issues.push({ path: `${fieldPath}[${i}]`, message });
      });
    }
    // In `exclude` each field stands alone, so excluding some namespaces and some URLs is fine.
    if (
      side === 'match' &&
      m.nonResourceURLs !== undefined &&
      RESOURCE_FIELDS.some((f) => m[f] !== undefined)
    ) {
      issues.push({
        path: at('match'),
        message: `${resourceFieldsOf(m)} select resource requests and nonResourceURLs non-resource requests, so this never matches: use two rules`,
      });
    }
  }
  if (rule.deny !== undefined && rule.action !== 'deny') {
    issues.push({ path: at('deny'), message: 'deny is used only with action: deny' });
  }
  return issues;
}

/** checkRule for each rule of a list at `path` (e.g. `clusters[0].rules`), and duplicate names. */
export function checkRules(rules: readonly Rule[], path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    const rulePath = `${path}[${i}]`;
    const first = seen.get(rule.name);
    if (first !== undefined) {
      issues.push({
        path: `${rulePath}.name`,
        message: `duplicate rule name "${rule.name}" (also ${path}[${first}])`,
      });
    } else {
      seen.set(rule.name, i);
    }
    if (rule.name === 'default') {
      issues.push({ path: `${rulePath}.name`, message: '"default" is the name of the default rule' });
    }
    issues.push(...checkRule(rule, rulePath));
  });
  return issues;
}

function resourceFieldsOf(m: Match): string {
  return RESOURCE_FIELDS.filter((f) => m[f] !== undefined).join(', ');
}

/** What is wrong with one entry of `field`, or null. */
function entryProblem(field: MatchField, entry: string): string | null {
  if (entry === '') return EMPTY_ALLOWED.has(field) ? null : 'empty pattern';
  switch (field) {
    case 'verbs':
      return entry === entry.toLowerCase()
        ? null
        : `${JSON.stringify(entry)} never matches: verbs and HTTP methods are lowercase`;
    case 'resources':
      return resourceProblem(entry);
    case 'nonResourceURLs': {
      if (!entry.startsWith('/') && !entry.startsWith('*'))
        return `${JSON.stringify(entry)} does not start with "/" (or is "*")`;
      const star = entry.indexOf('*');
      if (star >= 0 && !/^\**$/.test(entry.slice(star))) {
        return `${JSON.stringify(entry)}: "*" works only at the end (RBAC compares the rest literally)`;
      }
      return null;
    }
    case 'serviceAccounts': {
      const parts = entry.split(':');
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
        return `${JSON.stringify(entry)} is not namespace:name (e.g. kube-system:default or kube-system:*)`;
      }
      return null;
    }
    case 'clientCIDRs':
      return parseCIDR(entry) === null
        ? `${JSON.stringify(entry)} is not an address range like 10.0.0.0/8 or 2001:db8::/32`
        : null;
    default:
      return null;
  }
}

/** RBAC resource entries: `*`, `resource`, `resource/subresource`, `*` + `/subresource`. */
function resourceProblem(entry: string): string | null {
  if (entry === '*') return null;
  const parts = entry.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    return `${JSON.stringify(entry)} never matches: write resource, resource/subresource or */subresource`;
  }
  if (entry.includes('*') && !(parts.length === 2 && parts[0] === '*' && !parts[1].includes('*'))) {
    return `${JSON.stringify(entry)} never matches: RBAC knows only "*" and "*/<subresource>" as wildcards; list subresources (e.g. pods/log) instead`;
  }
  return null;
}
