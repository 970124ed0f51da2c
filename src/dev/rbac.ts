/** The user name of the gateway's own upstream identity in the dev cluster. */
export const GATEWAY_USER = 'kubegate-gateway';

const EXTRA_KEYS = ['credential-id', 'pod-name', 'pod-uid', 'node-name', 'node-uid'];

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
    { apiGroups: ['authentication.k8s.io'], resources: ['uids', 'userextras'], verbs: ['impersonate'] },
    // Each extra key is checked as a subresource of userextras, and RBAC has no `userextras/*`
    // wildcard: list the keys kube-apiserver's own authenticators set.
    {
      apiGroups: ['authentication.k8s.io'],
      resources: EXTRA_KEYS.map((k) => `userextras/authentication.kubernetes.io/${k}`),
      verbs: ['impersonate'],
    },
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
