// Server-side printing: kubectl get asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and
// prints the columns the server defines. These are cluster-gateway's (its printer.go): Name,
// Provider, Credential-Type, Endpoint-Type, Healthy, all of priority 0, so `-o wide` shows the same.

const COLUMNS = [
  { name: 'Name', type: 'string', format: 'name', description: 'the name of the cluster', priority: 0 },
  { name: 'Provider', type: 'string', format: '', description: 'the cluster provider type', priority: 0 },
  { name: 'Credential-Type', type: 'string', format: '', description: 'the credential type', priority: 0 },
  { name: 'Endpoint-Type', type: 'string', format: '', description: 'the endpoint type', priority: 0 },
  { name: 'Healthy', type: 'string', format: '', description: 'the healthiness of the gateway', priority: 0 },
];

/** The shape of kubegate's ClusterGateway objects that the columns read. */
interface Shown {
  metadata: { name: string };
  spec: { provider: string; access: { endpoint: { type: string }; credential?: { type: string } } };
  status: { healthy: boolean };
}

/** Whether an Accept header asks for a meta.k8s.io/v1 Table (v1beta1 alone is not served). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept
    .toLowerCase()
    .split(',')
    .some((c) => {
      const p = new Set(c.split(';').map((s) => s.trim()));
      return p.has('as=table') && p.has('g=meta.k8s.io') && p.has('v=v1');
    });
}

/** What each row carries as `object`: `includeObject=None|Metadata|Object` (default Metadata). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectOf(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function row(o: Shown, include: IncludeObject): object {
  const cells = [
    o.metadata.name,
    o.spec.provider,
    o.spec.access.credential?.type ?? '<none>',
    o.spec.access.endpoint.type,
    String(o.status.healthy),
  ];
  if (include === 'None') return { cells };
  const object =
    include === 'Object'
      ? o
      : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
  return { cells, object };
}

/** A meta.k8s.io/v1 Table of ClusterGateway objects. */
export function clusterGatewayTable(
  objects: readonly object[],
  include: IncludeObject,
  resourceVersion?: string,
): object {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: resourceVersion === undefined ? {} : { resourceVersion },
    columnDefinitions: COLUMNS,
    rows: objects.map((o) => row(o as Shown, include)),
  };
}
