/** The API group and version kubegate serves, as cluster-gateway does. */
export const GROUP = 'cluster.core.oam.dev';
export const VERSION = 'v1alpha1';
export const RESOURCE = 'clustergateways';
const PREFIX = `/apis/${GROUP}`;
const ITEMS = `/apis/${GROUP}/${VERSION}/${RESOURCE}/`;

/** Where a request URI goes: to a registered cluster (the path past `/proxy`), to kubegate's own API, or neither. */
export type PathTarget =
  | { readonly kind: 'proxy'; readonly cluster: string; readonly uri: string }
  | { readonly kind: 'api' }
  | null;

/**
 * `/apis/cluster.core.oam.dev/v1alpha1/clustergateways/NAME/proxy/api/v1/pods?watch=1` →
 * cluster NAME, `/api/v1/pods?watch=1`. The query string belongs to the inner request, as in
 * cluster-gateway (it strips the prefix and keeps the query).
 */
export function clusterGatewayTarget(uri: string): PathTarget {
  if (!uri.startsWith(PREFIX) || (uri.length > PREFIX.length && !'/?'.includes(uri[PREFIX.length])))
    return null;
  if (!uri.startsWith(ITEMS)) return { kind: 'api' };
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const query = q < 0 ? '' : uri.slice(q);
  const rest = path.slice(ITEMS.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return { kind: 'api' };
  const name = rest.slice(0, slash);
  const after = rest.slice(slash + 1);
  if (after !== 'proxy' && !after.startsWith('proxy/')) return { kind: 'api' };
  let inner = after.slice('proxy'.length);
  if (inner === '') inner = '/';
  // No dot segments may climb out of the inner path (the apiserver would clean them differently).
  if (/(^|\/)\.\.?(\/|$)/.test(inner) || /%2e/i.test(inner)) return { kind: 'api' };
  return { kind: 'proxy', cluster: decodeURIComponent(name), uri: inner + query };
}
