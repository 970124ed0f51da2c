import type { Limits, Rule } from '../schema/index.ts';
import { translateDispatchRule } from './dispatch-rule.ts';
import type { TranslatedServers } from './endpoints.ts';
import type { TranslatedSchema } from './flow-control.ts';
import { index, listAt, objectAt, reportUnknownKeys, stringAt, stringsAt } from './read.ts';
import type { TranslationReport } from './report.ts';

const POLICY = ['strategy', 'upstreamSubset', 'upsteamSubset', 'rules', 'flowControlSchemaName', 'logMode'];

/**
 * Translates `spec.dispatchPolicies` into kubegate rules, in order. KubeGateway takes the first policy
 * with a matching rule; each KubeGateway rule becomes one kubegate rule per request kind, named
 * `policy-<i>-rule-<j>` (`-resources` / `-urls` when it has both halves), so kubegate's "first rule
 * wins" picks the same policy. Every rule of a policy gets the policy's endpoints and limits.
 */
export function translatePolicies(
  value: unknown,
  servers: TranslatedServers,
  schemas: ReadonlyMap<string, TranslatedSchema>,
  report: TranslationReport,
): { rules: Rule[]; referenced: Set<string> } {
  const path = 'spec.dispatchPolicies';
  const referenced = new Set<string>();
  const rules: Rule[] = [];
  const users = new Map<string, string[]>();
  (listAt(value, path, report) ?? []).forEach((raw, i) => {
    const at = index(path, i);
    const policy = objectAt(raw, at, report);
    if (policy === undefined) return;
    reportUnknownKeys(policy, POLICY, at, report);
    checkStrategy(policy.strategy, `${at}.strategy`, report);
    checkLogMode(policy.logMode, `${at}.logMode`, report);
    const target = upstreamOf(policy, at, servers, report);
    const schemaName = stringAt(policy.flowControlSchemaName, `${at}.flowControlSchemaName`, report) ?? '';
    if (schemaName !== '') referenced.add(schemaName);
    const schema = schemas.get(schemaName);
    if (schemaName !== '' && schema === undefined)
      report.noteAt(
        `${at}.flowControlSchemaName`,
        `no flow control schema "${schemaName}": KubeGateway falls back to no limit, and so does kubegate`,
      );
    const limits = schema?.limits;
    const list = listAt(policy.rules, `${at}.rules`, report) ?? [];
    if (list.length === 0)
      report.noteAt(`${at}.rules`, 'no rules: KubeGateway never matches this policy; nothing emitted');
    list.forEach((r, j) => {
      const parts = translateDispatchRule(r, index(`${at}.rules`, j), report);
      for (const part of parts) {
        const name = `policy-${i}-rule-${j}${parts.length > 1 ? `-${part.kind}` : ''}`;
        const rule: Rule = { name, match: part.match };
        if (part.exclude) rule.exclude = part.exclude;
        // Each rule gets its own copies: the result is plain JSON that callers may edit.
        Object.assign(rule, structuredClone(target));
        if (limits && !target.action) {
          rule.limits = { ...limits } satisfies Limits;
          users.set(schemaName, [...(users.get(schemaName) ?? []), name]);
        }
        rules.push(rule);
      }
    });
  });
  for (const [name, ruleNames] of users)
    if (ruleNames.length > 1)
      report.unsupportedAt(
        schemas.get(name)!.path,
        `KubeGateway keeps one limiter per schema, shared by every request of every policy naming it; kubegate keeps one per rule, so ${ruleNames.join(', ')} each get these limits (up to ${ruleNames.length} times the traffic together)`,
      );
  return { rules, referenced };
}

/** The policy's `upstream` list, or a deny when none of its subset can take requests. */
function upstreamOf(
  policy: Record<string, unknown>,
  at: string,
  servers: TranslatedServers,
  report: TranslationReport,
): Pick<Rule, 'upstream' | 'action' | 'deny'> {
  let field = 'upstreamSubset';
  let subset = stringsAt(policy.upstreamSubset, `${at}.upstreamSubset`, report);
  const older = stringsAt(policy.upsteamSubset, `${at}.upsteamSubset`, report);
  if (subset.length === 0) {
    // Earlier KubeGateway releases (and their docs) spell it `upsteamSubset`.
    field = 'upsteamSubset';
    subset = older;
  } else if (older.length > 0)
    report.unsupportedAt(
      `${at}.upsteamSubset`,
      'both spellings given; a KubeGateway release reads only one of them; upstreamSubset used, this one ignored',
    );
  if (subset.length === 0) return {};
  const names: string[] = [];
  for (const { value, at: entryAt } of subset) {
    const name = servers.names.get(value);
    if (name !== undefined) {
      if (!names.includes(name)) names.push(name);
    } else
      report.noteAt(
        entryAt,
        servers.leftOut.has(value)
          ? `server "${value}" is left out (${servers.leftOut.get(value)}), so this policy cannot use it`
          : `"${value}" is not one of spec.servers (KubeGateway skips it; compare the exact endpoint strings)`,
      );
  }
  if (names.length > 0) return { upstream: names };
  report.noteAt(
    `${at}.${field}`,
    'no server of this subset can take requests: KubeGateway answers 503 (no ready endpoints), so the rules deny with 503',
  );
  return {
    action: 'deny',
    deny: { code: 503, message: 'no endpoint of this rule can take requests' },
  };
}

function checkStrategy(value: unknown, at: string, report: TranslationReport): void {
  const strategy = stringAt(value, at, report);
  if (strategy === undefined || strategy === '' || strategy === 'RoundRobin') return;
  report.unsupportedAt(
    at,
    `"${strategy}": KubeGateway accepts only RoundRobin and its dispatcher always round-robins; kubegate's balancer is per cluster and stays round-robin (set balancer yourself to change it)`,
  );
}

/** Per-policy access-log switches; kubegate logs every request it proxies. */
export function checkLogMode(value: unknown, at: string, report: TranslationReport): void {
  const mode = stringAt(value, at, report);
  if (mode === undefined || mode === '' || mode === 'on') return;
  report.unsupportedAt(
    at,
    mode === 'off'
      ? 'kubegate has no per-cluster or per-rule switch for its access log; these requests will be logged'
      : `"${mode}" is neither on nor off (KubeGateway rejects it); ignored`,
  );
}
