import { GROUP, RESOURCE, VERSION } from './path.ts';

// Aggregated discovery (apidiscovery.k8s.io, kube-apiserver 1.30+ for v2): one document at `/apis`
// holding every group, version and resource, which kubectl and the hub's aggregator ask for first.
// The answer must carry the aggregated media type as its Content-Type: a client that gets plain
// `application/json` reads it as a legacy APIGroupList.

const kind = (k: string) => ({ group: GROUP, version: VERSION, kind: k });

function groupDiscoveryList(apiVersion: string): object {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion,
    metadata: {},
    items: [
      {
        metadata: { name: GROUP },
        versions: [
          {
            version: VERSION,
            freshness: 'Current',
            resources: [
              {
                resource: RESOURCE,
                responseKind: kind('ClusterGateway'),
                scope: 'Cluster',
                singularResource: 'clustergateway',
                verbs: ['get', 'list', 'watch'],
                subresources: [
                  { subresource: 'health', responseKind: kind('ClusterGateway'), verbs: ['get'] },
                  {
                    subresource: 'proxy',
                    responseKind: kind('ClusterGatewayProxyOptions'),
                    verbs: ['create', 'delete', 'get', 'patch', 'update'],
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

const VERSIONS = ['v2', 'v2beta1'] as const;

/** The aggregated discovery answer an Accept header asks for (v2 before v2beta1), or null for legacy. */
export function aggregatedDiscovery(accept: string): { type: string; body: string } | null {
  const clauses = accept
    .toLowerCase()
    .split(',')
    .map((c) => new Set(c.split(';').map((p) => p.trim())));
  for (const v of VERSIONS) {
    const wanted = ['application/json', 'g=apidiscovery.k8s.io', `v=${v}`, 'as=apigroupdiscoverylist'];
    if (!clauses.some((c) => wanted.every((p) => c.has(p)))) continue;
    return {
      type: `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
      body: JSON.stringify(groupDiscoveryList(`apidiscovery.k8s.io/${v}`)),
    };
  }
  return null;
}
