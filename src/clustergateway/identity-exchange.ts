import { OWN_CREDENTIAL } from '../auth/index.ts';
import type { ConfigIssue } from '../config/issues.ts';
import type { Identity } from '../request/types.ts';

/** cluster-gateway's per-cluster annotation holding a ClusterGatewayProxyConfiguration document. */
export const PROXY_CONFIGURATION_ANNOTATION = 'cluster.core.oam.dev/cluster-gateway-proxy-configuration';

/**
 * One ClientIdentityExchanger rule, checked. Patterns are anchored (whole-string matches).
 * `StaticMappingIdentityExchanger` impersonates `target`; `PrivilegedIdentityExchanger` sends the
 * request with the cluster's own credential and no impersonation (its `target` is ignored).
 */
export interface ExchangeRule {
  readonly name: string;
  readonly type: 'StaticMappingIdentityExchanger' | 'PrivilegedIdentityExchanger';
  readonly source: {
    readonly user?: string;
    readonly group?: string;
    readonly uid?: string;
    readonly cluster?: string;
    readonly userPattern?: string;
    readonly groupPattern?: string;
    readonly clusterPattern?: string;
  };
  readonly target: { readonly user: string; readonly groups: readonly string[]; readonly uid: string };
}

const SOURCE_KEYS = ['user', 'group', 'uid', 'cluster', 'userPattern', 'groupPattern', 'clusterPattern'];

/** Checks the rules of a ClusterGatewayProxyConfiguration document (parsed JSON or YAML). */
export function checkExchangeRules(
  doc: unknown,
  path: string,
): { rules: ExchangeRule[] } | { issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const rules: ExchangeRule[] = [];
  const spec = (doc as { spec?: { clientIdentityExchanger?: { rules?: unknown } } } | null)?.spec;
  const list = spec?.clientIdentityExchanger?.rules ?? [];
  if (!Array.isArray(list))
    return { issues: [{ path: `${path}.spec.clientIdentityExchanger.rules`, message: 'must be a list' }] };
  list.forEach((r: Record<string, unknown>, i) => {
    const at = `${path}.spec.clientIdentityExchanger.rules[${i}]`;
    if (typeof r?.name !== 'string' || r.name === '')
      issues.push({ path: `${at}.name`, message: 'required' });
    const type = r?.type;
    if (type !== 'StaticMappingIdentityExchanger' && type !== 'PrivilegedIdentityExchanger') {
      issues.push({
        path: `${at}.type`,
        message:
          type === 'ExternalIdentityExchanger'
            ? 'ExternalIdentityExchanger is not served by kubegate (nor implemented by cluster-gateway)'
            : `"${String(type)}" is not an exchanger type (StaticMappingIdentityExchanger, PrivilegedIdentityExchanger)`,
      });
      return;
    }
    const source = (r.source ?? null) as Record<string, unknown> | null;
    if (source === null || typeof source !== 'object') {
      issues.push({ path: `${at}.source`, message: 'required (a rule without a source matches nobody)' });
      return;
    }
    for (const [k, v] of Object.entries(source)) {
      if (!SOURCE_KEYS.includes(k)) issues.push({ path: `${at}.source.${k}`, message: 'unknown field' });
      else if (typeof v !== 'string') issues.push({ path: `${at}.source.${k}`, message: 'must be a string' });
      else if (k.endsWith('Pattern'))
        try {
          new RegExp(`^(?:${v})$`);
        } catch (err) {
          issues.push({
            path: `${at}.source.${k}`,
            message: `not a regular expression: ${(err as Error).message}`,
          });
        }
    }
    if (type === 'PrivilegedIdentityExchanger') {
      rules.push({ name: String(r.name), type, source: source as ExchangeRule['source'], target: NO_TARGET });
      return;
    }
    const target = (r.target ?? {}) as { user?: unknown; groups?: unknown; uid?: unknown };
    if (typeof target.user !== 'string' || target.user === '')
      issues.push({ path: `${at}.target.user`, message: 'required for StaticMappingIdentityExchanger' });
    const groups = target.groups ?? [];
    if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))
      issues.push({ path: `${at}.target.groups`, message: 'must be a list of strings' });
    rules.push({
      name: String(r.name),
      type,
      source: source as ExchangeRule['source'],
      target: {
        user: String(target.user),
        groups: groups as string[],
        uid: typeof target.uid === 'string' ? target.uid : '',
      },
    });
  });
  return issues.length > 0 ? { issues } : { rules };
}

const NO_TARGET: ExchangeRule['target'] = Object.freeze({ user: '', groups: [], uid: '' });

const compiled = new Map<string, RegExp>();
function whole(pattern: string, value: string): boolean {
  let re = compiled.get(pattern);
  if (!re) compiled.set(pattern, (re = new RegExp(`^(?:${pattern})$`)));
  return re.test(value);
}

function matches(s: ExchangeRule['source'], id: Identity, cluster: string): boolean {
  if (s.user !== undefined && id.user !== s.user) return false;
  if (s.group !== undefined && !id.groups.includes(s.group)) return false;
  if (s.uid !== undefined && id.uid !== s.uid) return false;
  if (s.cluster !== undefined && cluster !== s.cluster) return false;
  if (s.userPattern !== undefined && !whole(s.userPattern, id.user)) return false;
  if (s.groupPattern !== undefined && !id.groups.some((g) => whole(s.groupPattern!, g))) return false;
  if (s.clusterPattern !== undefined && !whole(s.clusterPattern, cluster)) return false;
  return true;
}

/**
 * The identity the target cluster sees: the first matching rule's target (`OWN_CREDENTIAL` for a
 * privileged rule: the cluster's credential itself, no impersonation), else the caller's own.
 */
export function exchangeIdentity(rules: readonly ExchangeRule[], id: Identity, cluster: string): Identity {
  for (const r of rules)
    if (matches(r.source, id, cluster))
      return r.type === 'PrivilegedIdentityExchanger'
        ? OWN_CREDENTIAL
        : Object.freeze({ user: r.target.user, uid: r.target.uid, groups: r.target.groups, extra: {} });
  return id;
}
