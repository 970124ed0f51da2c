import { ANY, NEVER, unique, type Condition } from './condition.ts';
import { fieldCondition } from './field-condition.ts';
import { USERS } from './field-profiles.ts';
import { index, listAt, objectAt, reportUnknownKeys, stringAt, stringsAt } from './read.ts';
import type { TranslationReport } from './report.ts';

/** A rule's `users` and `serviceAccounts` as one kubegate field. */
export interface WhoCondition {
  field: 'users' | 'serviceAccounts';
  condition: Condition;
}

const SA_PREFIX = 'system:serviceaccount:';
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * KubeGateway's `users` and `serviceAccounts` are one test (UserOrServiceAccountMatches): both empty
 * match everyone; otherwise the user matches `users` OR is one of the service accounts. kubegate ANDs
 * its fields, so the OR is written in one field: service accounts alone as `serviceAccounts`
 * (`namespace:name`), next to users as their user names `system:serviceaccount:<ns>:<name>`.
 */
export function whoCondition(
  users: unknown,
  serviceAccounts: unknown,
  path: string,
  report: TranslationReport,
): WhoCondition {
  const userEntries = stringsAt(users, `${path}.users`, report);
  const saPath = `${path}.serviceAccounts`;
  const saList = listAt(serviceAccounts, saPath, report) ?? [];
  if (userEntries.length === 0 && saList.length === 0) return { field: 'users', condition: ANY };
  const accounts = readServiceAccounts(saList, saPath, report);
  const saUsers = accounts.map(([ns, name]) => `${SA_PREFIX}${ns}:${name}`);
  const named: Condition =
    userEntries.length > 0 ? fieldCondition(userEntries, USERS, 'single', `${path}.users`, report) : NEVER;
  switch (named.kind) {
    case 'any':
      return { field: 'users', condition: ANY };
    case 'never': {
      if (accounts.length === 0) return { field: 'users', condition: NEVER };
      const asAccounts = accounts.every(
        ([ns, name]) => LABEL.test(ns) && ns.length <= 63 && SUBDOMAIN.test(name),
      );
      return asAccounts
        ? {
            field: 'serviceAccounts',
            condition: { kind: 'oneOf', values: unique(accounts.map(([ns, n]) => `${ns}:${n}`)) },
          }
        : { field: 'users', condition: { kind: 'oneOf', values: unique(saUsers) } };
    }
    case 'oneOf':
      return { field: 'users', condition: { kind: 'oneOf', values: unique([...named.values, ...saUsers]) } };
    case 'noneOf': {
      const [excluded] = named.values;
      if (saUsers.includes(excluded)) {
        report.noteAt(
          saPath,
          `"-${excluded}" is one of the service accounts, so together they match every user`,
        );
        return { field: 'users', condition: ANY };
      }
      if (accounts.length > 0)
        report.noteAt(
          saPath,
          `every service account listed already passes "-${excluded}", so they add nothing`,
        );
      return { field: 'users', condition: named };
    }
  }
}

/** The [namespace, name] pairs KubeGateway can match; the others are reported. */
function readServiceAccounts(list: unknown[], path: string, report: TranslationReport): [string, string][] {
  const out: [string, string][] = [];
  list.forEach((raw, i) => {
    const at = index(path, i);
    const sa = objectAt(raw, at, report);
    if (sa === undefined) return;
    reportUnknownKeys(sa, ['name', 'namespace'], at, report);
    const ns = stringAt(sa.namespace, `${at}.namespace`, report) ?? '';
    const name = stringAt(sa.name, `${at}.name`, report) ?? '';
    if (ns === '' || name === '') {
      report.noteAt(
        at,
        'KubeGateway skips a service account without both namespace and name (it matches nobody); dropped',
      );
      return;
    }
    if (ns.includes('*') || name.includes('*')) {
      report.unsupportedAt(
        at,
        `"${ns}:${name}": KubeGateway compares it literally, kubegate would read "*" as a wildcard; dropped`,
      );
      return;
    }
    out.push([ns, name]);
  });
  return out;
}
