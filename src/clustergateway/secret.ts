import { resolveCluster, type AnyClusterSpec } from '../config/cluster-spec.ts';
import type { ConfigIssue } from '../config/issues.ts';
import type { ClusterConfig } from '../config/model.ts';
import type { Defaults } from '../config/schema/cluster.ts';
import { parseYAML } from '../config/yaml.ts';
import {
  checkExchangeRules,
  PROXY_CONFIGURATION_ANNOTATION,
  type ExchangeRule,
} from './identity-exchange.ts';

/** The label that marks a Secret as a cluster credential (cluster-gateway's). */
export const CREDENTIAL_TYPE_LABEL = 'cluster.core.oam.dev/cluster-credential-type';
/** cluster-gateway's endpoint type label; only `Const` (the default) is served. */
export const ENDPOINT_TYPE_LABEL = 'cluster.core.oam.dev/cluster-endpoint-type';
/** Origin prefix of clusters made from Secrets: only these are reachable by the proxy path. */
export const ORIGIN_PREFIX = 'ClusterGateway/';

/** A Secret as listed (data base64). */
export interface SecretObject {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The explicit opt-in to not verifying a cluster without `ca.crt` (cluster-gateway does it silently). */
export const INSECURE_ANNOTATION = 'kubegate.io/insecure-skip-tls-verify';

/**
 * One cluster Secret as a cluster, or the issues (field path and reason) that refuse it. `global`:
 * the identity exchange rules of the gateway's ClusterGatewayProxyConfiguration file, checked after
 * the Secret's own (first match wins).
 */
export function clusterFromSecret(
  s: SecretObject,
  defaults: Defaults,
  global: readonly ExchangeRule[] = [],
): { config: ClusterConfig } | { issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const name = s.metadata.name;
  const data = s.data ?? {};
  const text = (k: string): string | undefined =>
    data[k] === undefined ? undefined : Buffer.from(data[k], 'base64').toString('utf8');
  const type = s.metadata.labels?.[CREDENTIAL_TYPE_LABEL];
  const endpointType = s.metadata.labels?.[ENDPOINT_TYPE_LABEL] ?? 'Const';
  if (!NAME.test(name) || name.length > 63)
    issues.push({
      path: 'metadata.name',
      message: 'must be a DNS label (it names the cluster in the proxy path)',
    });
  if (endpointType !== 'Const')
    issues.push({
      path: `metadata.labels["${ENDPOINT_TYPE_LABEL}"]`,
      message: `endpoint type "${endpointType}" is not supported by kubegate (only Const)`,
    });
  const endpoint = text('endpoint')?.trim();
  let url: URL | null = null;
  if (!endpoint)
    issues.push({ path: 'data.endpoint', message: 'required: the cluster URL (https://host:port)' });
  else {
    try {
      url = new URL(endpoint);
      if (url.protocol !== 'https:') throw new Error('not https');
    } catch {
      issues.push({ path: 'data.endpoint', message: `"${endpoint}" is not an https:// URL` });
    }
  }
  const ca = text('ca.crt') ?? text('ca');
  const insecure = s.metadata.annotations?.[INSECURE_ANNOTATION] === 'true';
  if (ca === undefined && insecure) {
    // Explicitly asked for: the source logs it at warn level, the object shows `insecure: true`.
  } else if (!ca?.includes('-----BEGIN CERTIFICATE-----'))
    issues.push({
      path: 'data["ca.crt"]',
      message: `required: a PEM CA bundle that verifies the cluster (cluster-gateway skips verification without one; kubegate refuses unless the Secret is annotated ${INSECURE_ANNOTATION}: "true")`,
    });
  let token: string | undefined;
  let cert: string | undefined;
  let key: string | undefined;
  if (type === 'ServiceAccountToken') {
    token = text('token')?.trim();
    if (!token)
      issues.push({ path: 'data.token', message: 'required for credential type ServiceAccountToken' });
  } else if (type === 'X509Certificate') {
    cert = text('tls.crt');
    key = text('tls.key');
    if (!cert)
      issues.push({ path: 'data["tls.crt"]', message: 'required for credential type X509Certificate' });
    if (!key)
      issues.push({ path: 'data["tls.key"]', message: 'required for credential type X509Certificate' });
  } else
    issues.push({
      path: `metadata.labels["${CREDENTIAL_TYPE_LABEL}"]`,
      message: `"${type ?? ''}" is not a credential type kubegate serves (ServiceAccountToken, X509Certificate)`,
    });
  let identityExchange: readonly ExchangeRule[] = [];
  const proxyConfig = s.metadata.annotations?.[PROXY_CONFIGURATION_ANNOTATION];
  if (proxyConfig !== undefined) {
    const at = `metadata.annotations["${PROXY_CONFIGURATION_ANNOTATION}"]`;
    try {
      const r = checkExchangeRules(parseYAML(proxyConfig, at), at);
      if ('issues' in r) issues.push(...r.issues);
      else identityExchange = r.rules;
    } catch (err) {
      issues.push({ path: at, message: (err as Error).message });
    }
  }
  if (issues.length > 0 || url === null) return { issues };
  const base = `${url.origin}${url.pathname.replace(/\/$/, '')}`;
  const config = resolveCluster(
    name,
    ORIGIN_PREFIX + name,
    // The material comes from the Secret, so the spec's own CA and credential fields are unused.
    { endpoints: [{ name: `${name}-0`, url: base }] } as unknown as AnyClusterSpec,
    defaults,
    ca === undefined ? { ca: '', insecureSkipTLSVerify: true, cert, key, token } : { ca, cert, key, token },
  );
  if (global.length > 0) identityExchange = [...identityExchange, ...global];
  return { config: identityExchange.length > 0 ? { ...config, identityExchange } : config };
}
