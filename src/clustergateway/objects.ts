import type { ClusterRuntime } from '../cluster/runtime.ts';
import { GROUP, RESOURCE, VERSION } from './path.ts';

const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * A registered cluster as cluster-gateway shows it (`spec.provider`, `spec.access.endpoint` of type
 * Const, `spec.access.credential.type`, `status.healthy`), except that credentials are never
 * shown: cluster-gateway returns the token or key to anyone who may read the object.
 */
export function clusterGatewayObject(c: ClusterRuntime): object {
  const m = c.config.material;
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterGateway',
    metadata: { name: c.name },
    spec: {
      provider: '',
      access: {
        endpoint: {
          type: 'Const',
          const: m.insecureSkipTLSVerify
            ? { address: c.config.endpoints[0].url, insecure: true }
            : { address: c.config.endpoints[0].url, caBundle: Buffer.from(m.ca).toString('base64') },
        },
        credential: { type: m.token === undefined ? 'X509Certificate' : 'ServiceAccountToken' },
      },
    },
    status: { healthy: c.upstream.healthyCount > 0 },
  };
}

export function listObject(items: readonly object[], resourceVersion: string): object {
  return { apiVersion: API_VERSION, kind: 'ClusterGatewayList', metadata: { resourceVersion }, items };
}

export const API_GROUP = {
  kind: 'APIGroup',
  apiVersion: 'v1',
  name: GROUP,
  versions: [{ groupVersion: API_VERSION, version: VERSION }],
  preferredVersion: { groupVersion: API_VERSION, version: VERSION },
};

export const API_GROUP_LIST = { kind: 'APIGroupList', apiVersion: 'v1', groups: [API_GROUP] };

export const API_RESOURCE_LIST = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: API_VERSION,
  resources: [
    { name: RESOURCE, singularName: 'clustergateway', namespaced: false, kind: 'ClusterGateway', verbs: ['get', 'list', 'watch'] },
    { name: `${RESOURCE}/health`, singularName: '', namespaced: false, kind: 'ClusterGateway', verbs: ['get'] },
    { name: `${RESOURCE}/proxy`, singularName: '', namespaced: false, kind: 'ClusterGatewayProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
  ],
}; // prettier-ignore
