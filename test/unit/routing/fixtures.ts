import type { Match } from '../../../src/config/schema/match.ts';
import type { Rule } from '../../../src/config/schema/rule.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';
import type { Identity, RequestInfo } from '../../../src/request/types.ts';
import { compileRules } from '../../../src/routing/index.ts';

/** The RequestInfo kube-apiserver computes for `method url`. */
export function req(method: string, url: string): RequestInfo {
  return parseRequestInfo(method, url);
}

/** An identity with the given user and groups. */
export function who(user: string, groups: readonly string[] = ['system:authenticated']): Identity {
  return { user, uid: '', groups, extra: {} };
}

export const alice = who('alice', ['dev', 'system:authenticated']);

/** A one-rule table: answers whether `match` (and `exclude`) select the request. */
export function selects(
  spec: { match?: Match; exclude?: Match },
  info: RequestInfo,
  identity: Identity = alice,
  clientIP = '10.0.0.1',
): boolean {
  const table = compileRules([{ name: 'r', ...spec }], {});
  return table.match(info, identity, clientIP).index === 0;
}

/** A rule named `name` with the given fields. */
export function rule(name: string, fields: Omit<Rule, 'name'> = {}): Rule {
  return { name, ...fields };
}
