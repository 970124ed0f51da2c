import { createHash } from 'node:crypto';
import { GROUP, RESOURCE, VERSION } from './path.ts';

// The OpenAPI v3 document of cluster.core.oam.dev/v1alpha1, as kube-apiserver serves one per group
// version: `/openapi/v3` lists `apis/<group>/<version>` with a `serverRelativeURL` carrying the
// document's hash, and the document at that URL. kubectl explain finds the schema by its
// `x-kubernetes-group-version-kind`; the aggregator of a hub fetches both from an APIService's
// server and serves them as its own.

const PKG = 'dev.oam.core.cluster.v1alpha1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }], default: {} });
const str = (description: string) => ({ type: 'string', description, default: '' });
const gvk = (kind: string) => [{ group: GROUP, version: VERSION, kind }];

const schemas = {
  [`${PKG}.ClusterGateway`]: {
    description:
      'ClusterGateway is a cluster registered by a Secret of the hub; its proxy subresource reaches the cluster with the caller\'s identity. kubegate never shows the credential itself.',
    type: 'object',
    properties: {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: { ...ref(`${META}.ObjectMeta`), description: 'Standard object metadata: the name is the cluster\'s.' },
      spec: { ...ref(`${PKG}.ClusterGatewaySpec`), description: 'How the cluster is reached.' },
      status: { ...ref(`${PKG}.ClusterGatewayStatus`), description: 'What kubegate observes of the cluster.' },
    },
    'x-kubernetes-group-version-kind': gvk('ClusterGateway'),
  },
  [`${PKG}.ClusterGatewayList`]: {
    description: 'ClusterGatewayList is a list of ClusterGateways.',
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: { ...ref(`${META}.ListMeta`), description: 'Standard list metadata.' },
      items: { type: 'array', items: ref(`${PKG}.ClusterGateway`), description: 'The clusters.' },
    },
    'x-kubernetes-group-version-kind': gvk('ClusterGatewayList'),
  },
  [`${PKG}.ClusterGatewaySpec`]: {
    description: 'ClusterGatewaySpec is how a registered cluster is reached.',
    type: 'object',
    required: ['provider', 'access'],
    properties: {
      provider: str('Provider of the cluster (always empty for clusters from Secrets).'),
      access: { ...ref(`${PKG}.ClusterAccess`), description: 'Endpoint and credential type of the cluster.' },
    },
  },
  [`${PKG}.ClusterAccess`]: {
    description: 'ClusterAccess is the endpoint of a cluster and the type of credential used there.',
    type: 'object',
    required: ['endpoint'],
    properties: {
      endpoint: { ...ref(`${PKG}.ClusterEndpoint`), description: 'Where the cluster\'s apiserver is.' },
      credential: {
        ...ref(`${PKG}.ClusterAccessCredential`),
        description: 'The credential type (the credential itself is never shown).',
      },
    },
  },
  [`${PKG}.ClusterEndpoint`]: {
    description: 'ClusterEndpoint is the address of a cluster\'s apiserver.',
    type: 'object',
    required: ['type'],
    properties: {
      type: str('Type of the endpoint: Const (ClusterProxy is not served by kubegate).'),
      const: { ...ref(`${PKG}.ClusterEndpointConst`), description: 'The endpoint of a Const cluster.' },
    },
  },
  [`${PKG}.ClusterEndpointConst`]: {
    description: 'ClusterEndpointConst is a fixed URL of a cluster\'s apiserver and how it is verified.',
    type: 'object',
    required: ['address'],
    properties: {
      address: str('Address is the https URL of the cluster\'s apiserver.'),
      caBundle: { type: 'string', format: 'byte', description: 'CABundle verifies the cluster\'s serving certificate.' },
      insecure: { type: 'boolean', description: 'Insecure: the cluster is reached without verifying its certificate.' },
    },
  },
  [`${PKG}.ClusterAccessCredential`]: {
    description: 'ClusterAccessCredential names the kind of credential kubegate uses for the cluster.',
    type: 'object',
    required: ['type'],
    properties: { type: str('Type: ServiceAccountToken or X509Certificate.') },
  },
  [`${PKG}.ClusterGatewayStatus`]: {
    description: 'ClusterGatewayStatus is what kubegate observes of the cluster.',
    type: 'object',
    properties: {
      healthy: { type: 'boolean', description: 'Healthy: an endpoint of the cluster passes kubegate\'s health check.' },
    },
  },
  [`${META}.ObjectMeta`]: {
    description: 'ObjectMeta is metadata that all persisted resources must have.',
    type: 'object',
    properties: {
      name: str('Name must be unique within a namespace.'),
      generateName: str('GenerateName is an optional prefix used to generate a unique name.'),
      uid: str('UID is the unique in time and space value for this object.'),
      resourceVersion: str('An opaque value that represents the internal version of this object.'),
      creationTimestamp: { type: 'string', format: 'date-time', description: 'When the object was created.' },
      labels: { type: 'object', additionalProperties: { type: 'string', default: '' }, description: 'Map of string keys and values.' },
      annotations: { type: 'object', additionalProperties: { type: 'string', default: '' }, description: 'Unstructured key value map.' },
    },
  },
  [`${META}.ListMeta`]: {
    description: 'ListMeta describes metadata that synthetic resources must have.',
    type: 'object',
    properties: {
      resourceVersion: str('The version of the list, for a watch from it.'),
      continue: str('Continue may be set if the user set a limit on the number of items returned.'),
    },
  },
}; // prettier-ignore

// kubectl explain maps the resource to its kind through the paths: the `get` operation of
// `/apis/<group>/<version>/<resource>` (or `…/{name}`) names it in `x-kubernetes-group-version-kind`.
const read = (action: string, kind: string, description: string) => ({
  description,
  operationId: `${action}ClusterGateway`,
  responses: {
    '200': {
      description: 'OK',
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${PKG}.${kind}` } } },
    },
  },
  'x-kubernetes-action': action,
  'x-kubernetes-group-version-kind': { group: GROUP, version: VERSION, kind: 'ClusterGateway' },
});
const paths = {
  [`/apis/${GROUP}/${VERSION}/${RESOURCE}`]: {
    get: read('list', 'ClusterGatewayList', 'list or watch the registered clusters'),
  },
  [`/apis/${GROUP}/${VERSION}/${RESOURCE}/{name}`]: {
    get: read('get', 'ClusterGateway', 'read a registered cluster'),
    parameters: [
      { name: 'name', in: 'path', required: true, description: 'the cluster', schema: { type: 'string' } },
    ],
  },
};

/** The group version's OpenAPI v3 document, as JSON text. */
export const OPENAPI_V3_DOCUMENT = JSON.stringify({
  openapi: '3.0.0',
  info: { title: 'Kubernetes', version: `${GROUP}/${VERSION} (kubegate)` },
  paths,
  components: { schemas },
});

/** kube-apiserver's ETag and URL hash of a document: its SHA-512, upper-case hex. */
export const OPENAPI_V3_HASH = createHash('sha512').update(OPENAPI_V3_DOCUMENT).digest('hex').toUpperCase();

/** The path of the document, as `/openapi/v3` names it (no leading slash). */
export const OPENAPI_V3_KEY = `apis/${GROUP}/${VERSION}`;

/** The `/openapi/v3` index entry that points at the document. */
export const OPENAPI_V3_ENTRY = {
  serverRelativeURL: `/openapi/v3/${OPENAPI_V3_KEY}?hash=${OPENAPI_V3_HASH}`,
};

/** `/openapi/v3` of a server that serves only this group version. */
export const OPENAPI_V3_INDEX = JSON.stringify({ paths: { [OPENAPI_V3_KEY]: OPENAPI_V3_ENTRY } });
