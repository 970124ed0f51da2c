import type { DefaultRule } from '../config/schema/rule.ts';
import type { Identity, RequestInfo } from '../request/types.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { combinedResource } from './rbac.ts';
import type { Explanation, RouteRule, SkippedRule } from './types.ts';

/** What RouteTable.match answers for a request, with the reason each earlier rule was skipped. */
export function explainRoute(
  compiled: readonly CompiledRule[],
  defaultRule: RouteRule,
  info: RequestInfo,
  identity: Identity,
  clientIP: string,
): Explanation {
  const skipped: SkippedRule[] = [];
  for (const c of compiled) {
    const reason = c.whyNot(info, identity, clientIP);
    if (reason === null) return { rule: c.route, skipped };
    skipped.push({ name: c.route.name, index: c.route.index, reason });
  }
  return { rule: defaultRule, skipped };
}

/**
 * The text `kubegate explain` prints: the request, the identity, each rule tried and why it was
 * skipped, and what the chosen rule does. One `key: value` per line under four headings; tools and
 * tests may rely on the layout.
 */
export function formatExplanation(
  info: RequestInfo,
  identity: Identity,
  clientIP: string,
  explanation: Explanation,
): string {
  const lines: string[] = ['request:'];
  const field = (key: string, value: string) => lines.push(`  ${`${key}:`.padEnd(12)} ${value}`);
  field('kind', info.isResourceRequest ? 'resource' : 'non-resource');
  field('verb', info.verb);
  field('path', info.path);
  if (info.isResourceRequest) {
    field('apiGroup', info.apiGroup === '' ? '"" (core)' : info.apiGroup);
    field('apiVersion', info.apiVersion);
    field('namespace', info.namespace === '' ? '"" (cluster-scoped)' : info.namespace);
    field('resource', combinedResource(info.resource, info.subresource));
    field('name', show(info.name));
  }
  lines.push('identity:');
  field('user', show(identity.user));
  field('groups', `[${identity.groups.join(', ')}]`);
  field('clientIP', show(clientIP));

  lines.push('rules:');
  const { rule, skipped } = explanation;
  const label = (name: string, index: number) => (index < 0 ? name : `[${index}] ${name}`);
  const width = Math.max(
    0,
    ...skipped.map((s) => label(s.name, s.index).length),
    label(rule.name, rule.index).length,
  );
  for (const s of skipped) lines.push(`  ${label(s.name, s.index).padEnd(width)}  skipped: ${s.reason}`);
  lines.push(
    `  ${label(rule.name, rule.index).padEnd(width)}  matched${rule.index < 0 ? ' (no rule matched)' : ''}`,
  );

  lines.push('result:');
  field('rule', rule.index < 0 ? `${rule.name} (defaultRule)` : `${rule.name} (rules[${rule.index}])`);
  field('action', actionText(rule.spec));
  field('upstream', rule.spec.upstream === undefined ? 'all endpoints' : rule.spec.upstream.join(', '));
  field('limits', limitsText(rule.spec.limits));
  field('exempt', rule.spec.exempt === true ? 'yes' : 'no');
  return lines.join('\n') + '\n';
}

function show(value: string): string {
  return value === '' ? '""' : value;
}

/** `proxy`, or `deny 429 "slow down" retry-after=5s`. */
function actionText(spec: DefaultRule): string {
  if (spec.action !== 'deny') return 'proxy';
  const d = spec.deny ?? {};
  let text = `deny ${d.code ?? 403}`;
  if (d.message !== undefined) text += ` ${JSON.stringify(d.message)}`;
  if (d.retryAfterSeconds !== undefined) text += ` retry-after=${d.retryAfterSeconds}s`;
  return text;
}

/** `burst=20 qps=10 queue.length=5`: leaves in key order at every level; `none` when empty. */
function limitsText(limits: DefaultRule['limits']): string {
  const out: string[] = [];
  const walk = (value: unknown, prefix: string): void => {
    if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value).sort())
        walk((value as Record<string, unknown>)[key], prefix ? `${prefix}.${key}` : key);
    } else if (value !== undefined) {
      out.push(`${prefix}=${String(value)}`);
    }
  };
  walk(limits ?? {}, '');
  return out.length === 0 ? 'none' : out.join(' ');
}
