import type { Match } from '../schema/index.ts';
import type { Condition } from './condition.ts';
import { fieldCondition } from './field-condition.ts';
import {
  API_GROUPS,
  NON_RESOURCE_URLS,
  RESOURCE_NAMES,
  RESOURCES,
  USER_GROUPS,
  VERBS,
} from './field-profiles.ts';
import { objectAt, reportUnknownKeys, stringsAt } from './read.ts';
import type { TranslationReport } from './report.ts';
import { whoCondition } from './who.ts';

/** One kubegate rule's `match` and `exclude`, for the resource or the non-resource half of a KubeGateway rule. */
export interface RulePart {
  kind: 'resources' | 'urls';
  match: Match;
  exclude?: Match;
}

const RULE = [
  'verbs',
  'apiGroups',
  'resources',
  'resourceNames',
  'users',
  'serviceAccounts',
  'userGroups',
  'nonResourceURLs',
];

/**
 * Translates one DispatchPolicyRule. KubeGateway tests verbs, users/serviceAccounts and userGroups on
 * every request, then apiGroups+resources+resourceNames on resource requests and nonResourceURLs on the
 * others. kubegate's resource selectors hold only for resource requests and nonResourceURLs only for
 * the others, so a rule with both halves becomes two rules, each pinned by `apiGroups`/`resources` or
 * `nonResourceURLs` (`["*"]` when KubeGateway had no restriction).
 */
export function translateDispatchRule(raw: unknown, path: string, report: TranslationReport): RulePart[] {
  const rule = objectAt(raw, path, report);
  if (rule === undefined) return [];
  reportUnknownKeys(rule, RULE, path, report);
  const list = (field: string) => stringsAt(rule[field], `${path}.${field}`, report);
  const verbs = fieldCondition(list('verbs'), VERBS, 'single', `${path}.verbs`, report);
  const who = whoCondition(rule.users, rule.serviceAccounts, path, report);
  const groups = fieldCondition(list('userGroups'), USER_GROUPS, 'multi', `${path}.userGroups`, report);
  const apiGroupEntries = list('apiGroups');
  const resourceEntries = list('resources');
  const apiGroups = fieldCondition(apiGroupEntries, API_GROUPS, 'single', `${path}.apiGroups`, report);
  const resources = fieldCondition(resourceEntries, RESOURCES, 'single', `${path}.resources`, report);
  const names = fieldCondition(
    list('resourceNames'),
    RESOURCE_NAMES,
    'single',
    `${path}.resourceNames`,
    report,
  );
  const urls = fieldCondition(
    list('nonResourceURLs'),
    NON_RESOURCE_URLS,
    'ignored',
    `${path}.nonResourceURLs`,
    report,
  );

  for (const [field, c] of [
    ['verbs', verbs],
    [who.field === 'users' ? 'users/serviceAccounts' : 'serviceAccounts', who.condition],
    ['userGroups', groups],
  ] as const)
    if (c.kind === 'never') {
      report.noteAt(path, `${field} matches no request, so KubeGateway never matched this rule; dropped`);
      return [];
    }
  if ((apiGroupEntries.length === 0) !== (resourceEntries.length === 0))
    report.noteAt(
      path,
      `${apiGroupEntries.length === 0 ? 'apiGroups' : 'resources'} is empty, so KubeGateway matched no resource request with this rule`,
    );

  const parts: RulePart[] = [];
  if (apiGroups.kind !== 'never' && resources.kind !== 'never' && names.kind !== 'never') {
    const m: Match = {};
    const x: Match = {};
    put(m, x, 'verbs', verbs);
    put(m, x, 'apiGroups', apiGroups, true);
    put(m, x, 'resources', resources, true);
    put(m, x, 'names', names);
    put(m, x, who.field, who.condition);
    put(m, x, 'groups', groups);
    parts.push(part('resources', m, x));
  }
  if (urls.kind !== 'never') {
    const m: Match = {};
    const x: Match = {};
    put(m, x, 'verbs', verbs);
    put(m, x, 'nonResourceURLs', urls, true);
    put(m, x, who.field, who.condition);
    put(m, x, 'groups', groups);
    parts.push(part('urls', m, x));
  }
  if (parts.length === 0) report.noteAt(path, 'matches no request in KubeGateway; dropped');
  return parts;
}

/** Writes a condition into `match` / `exclude`; `pin` writes `["*"]` for `any`, to keep the rule's request kind. */
function put(m: Match, x: Match, field: keyof Match, c: Condition, pin = false): void {
  if (c.kind === 'oneOf') m[field] = [...c.values];
  else if (c.kind === 'noneOf') x[field] = [...c.values];
  if (pin && c.kind !== 'oneOf') m[field] = ['*'];
}

function part(kind: RulePart['kind'], match: Match, exclude: Match): RulePart {
  return Object.keys(exclude).length > 0 ? { kind, match, exclude } : { kind, match };
}
