import type { ClusterRuntime } from '../cluster/runtime.ts';
import { GatewayError } from '../errors.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import type { Gateway } from '../proxy/context.ts';
import { parseRequestInfo } from '../request/request-info.ts';
import { clusterGatewayTarget } from './path.ts';
import { ORIGIN_PREFIX } from './secret.ts';

export function isClusterGatewayCluster(c: ClusterRuntime): boolean {
  return c.config.origin.startsWith(ORIGIN_PREFIX);
}

/**
 * Path-based cluster selection, at parse time: a ClusterGateway proxy path names the target
 * cluster, and the record is rewritten to the inner request (cluster, URI, RequestInfo), so rules,
 * limits and the forwarder see the request the target apiserver will see. The caller is still
 * authenticated by the listener's cluster (the hub). Returns `api` for kubegate's own
 * ClusterGateway API, `proxy` when rewritten, null otherwise (or when the API is off).
 */
export function selectByPath(gw: Gateway, record: AccessRecord): 'api' | 'proxy' | null {
  if (gw.clusterGatewayClusters?.() == null) return null;
  const t = clusterGatewayTarget(record.uri);
  if (t === null || t.kind === 'api') return t === null ? null : 'api';
  record.cluster = t.cluster;
  record.uri = t.uri;
  record.info = parseRequestInfo(record.method, t.uri);
  return 'proxy';
}

/** The registered cluster a rewritten request goes to, or the 404 `Status` when none is. */
export function registeredCluster(gw: Gateway, name: string): ClusterRuntime {
  const c = gw.clusterGatewayClusters?.()?.find((r) => r.name === name);
  if (!c)
    throw new GatewayError(
      'KG_NOT_FOUND',
      'NotFound',
      `clustergateways.cluster.core.oam.dev "${name}" not found`,
    );
  return c;
}
