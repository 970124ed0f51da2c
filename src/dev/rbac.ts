/** The user name of the gateway's own upstream identity in the dev cluster. */
export const GATEWAY_USER = 'kubegate-gateway';

/**
 * What the gateway may do upstream: impersonate the users it has authenticated and ask the
 * cluster to review tokens and access. Service accounts are impersonated by user name, which the
 * apiserver authorizes as `impersonate serviceaccounts`, so that resource is listed too.
 */
export const gatewayClusterRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'kubegate:gateway' },
  rules: [
    { apiGroups: [''], resources: ['users', 'groups', 'serviceaccounts'], verbs: ['impersonate'] },
    // Uids, and each extra key, checked as `userextras/<key>`: every key a client may impersonate
    // (or an authenticator sets) must pass here too, and RBAC has no `userextras/*`, so only `*`
    // covers them all. The client's own right was checked first, with a SubjectAccessReview.
    { apiGroups: ['authentication.k8s.io'], resources: ['*'], verbs: ['impersonate'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    // Clusters defined as custom resources, the Secrets they reference, and their status.
    { apiGroups: ['kubegate.io'], resources: ['upstreamclusters'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['kubegate.io'], resources: ['upstreamclusters/status'], verbs: ['get', 'patch', 'update'] },
    { apiGroups: ['proxy.kubegateway.io'], resources: ['upstreamclusters'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
    // Local service-account token checks read the issuer's public keys.
    { nonResourceURLs: ['/openid/v1/jwks', '/.well-known/openid-configuration'], verbs: ['get'] },
  ],
};

export const gatewayClusterRoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'kubegate:gateway' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate:gateway' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: GATEWAY_USER }],
};

/** The namespace whose cluster Secrets `kubegate dev` serves as ClusterGateways. */
export const CLUSTER_SECRETS_NAMESPACE = 'kubegate-system';

export const clusterSecretsNamespace = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: CLUSTER_SECRETS_NAMESPACE },
};

/** List and watch of Secrets in that namespace only (the ClusterGateway source). */
export const clusterSecretsRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'kubegate:cluster-secrets', namespace: CLUSTER_SECRETS_NAMESPACE },
  rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }],
};

export const clusterSecretsRoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: 'kubegate:cluster-secrets', namespace: CLUSTER_SECRETS_NAMESPACE },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kubegate:cluster-secrets' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: GATEWAY_USER }],
};

/** The user name of the Gateway API controller in the dev cluster. */
export const GATEWAY_API_USER = 'kubegate-gateway-api';

/** What the Gateway API controller reads, the statuses it writes and the Service it keeps per Gateway. */
export const gatewayApiClusterRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'kubegate:gateway-api' },
  rules: [
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: [
        'gatewayclasses',
        'gateways',
        'listenersets',
        'httproutes',
        'grpcroutes',
        'tlsroutes',
        'tcproutes',
        'udproutes',
        'referencegrants',
        'backendtlspolicies',
      ],
      verbs: ['get', 'list', 'watch'],
    },
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: [
        'gatewayclasses/status',
        'gateways/status',
        'listenersets/status',
        'httproutes/status',
        'grpcroutes/status',
        'tlsroutes/status',
        'tcproutes/status',
        'udproutes/status',
        'backendtlspolicies/status',
      ],
      verbs: ['get', 'patch', 'update'],
    },
    { apiGroups: ['gateway.kubegate.io'], resources: ['trafficpolicies'], verbs: ['get', 'list', 'watch'] },
    {
      apiGroups: ['gateway.kubegate.io'],
      resources: ['trafficpolicies/status'],
      verbs: ['get', 'patch', 'update'],
    },
    {
      apiGroups: [''],
      resources: ['services', 'secrets', 'namespaces', 'configmaps'],
      verbs: ['get', 'list', 'watch'],
    },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    // The Service and EndpointSlice made for each Gateway (src/gatewayapi/controller/gateway-services.ts).
    { apiGroups: [''], resources: ['services'], verbs: ['create', 'patch', 'delete'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['create', 'patch', 'delete'] },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ],
};

export const gatewayApiClusterRoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'kubegate:gateway-api' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate:gateway-api' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: GATEWAY_API_USER }],
};

/** The user name of the node agents (`kubegate node`) in the dev cluster. */
export const NODE_AGENT_USER = 'kubegate-node';

/** What the node agent watches to program Services and NetworkPolicies, and the Events it writes. */
export const nodeAgentClusterRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'kubegate:node' },
  rules: [
    {
      apiGroups: [''],
      resources: ['services', 'nodes', 'pods', 'namespaces'],
      verbs: ['get', 'list', 'watch'],
    },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ],
};

export const nodeAgentClusterRoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'kubegate:node' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate:node' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: NODE_AGENT_USER }],
};

/** The user name of cluster DNS (`kubegate dns`) in the dev cluster. */
export const DNS_USER = 'kubegate-dns';

/** What cluster DNS reads: Services and their EndpointSlices. */
export const dnsClusterRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'kubegate:dns' },
  rules: [
    { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ],
};

export const dnsClusterRoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'kubegate:dns' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate:dns' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: DNS_USER }],
};
