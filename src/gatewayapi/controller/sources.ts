/** The collections the controller lists and watches, by the input field of `translate` they fill. */
export const WATCHED = {
  gatewayClasses: '/apis/gateway.networking.k8s.io/v1/gatewayclasses',
  gateways: '/apis/gateway.networking.k8s.io/v1/gateways',
  // v1 in the v1.7 CRDs (standard channel); a cluster without the CRD is watched quietly.
  listenerSets: '/apis/gateway.networking.k8s.io/v1/listenersets',
  httpRoutes: '/apis/gateway.networking.k8s.io/v1/httproutes',
  grpcRoutes: '/apis/gateway.networking.k8s.io/v1/grpcroutes',
  // v1 in the v1.7 CRDs (TLSRoute in the standard channel, TCPRoute and UDPRoute experimental);
  // a cluster without one is watched quietly until the CRD appears.
  tlsRoutes: '/apis/gateway.networking.k8s.io/v1/tlsroutes',
  tcpRoutes: '/apis/gateway.networking.k8s.io/v1/tcproutes',
  udpRoutes: '/apis/gateway.networking.k8s.io/v1/udproutes',
  // v1beta1 is the storage version in v1.7 and served by every release that has the kind.
  referenceGrants: '/apis/gateway.networking.k8s.io/v1beta1/referencegrants',
  backendTLSPolicies: '/apis/gateway.networking.k8s.io/v1/backendtlspolicies',
  services: '/api/v1/services',
  endpointSlices: '/apis/discovery.k8s.io/v1/endpointslices',
  // Only TLS Secrets can be listener certificates; a reference to any other type is reported as
  // InvalidCertificateRef whether it is cached or not, so the rest are never held in memory.
  secrets: '/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls',
  namespaces: '/api/v1/namespaces',
  // CA bundles (key `ca.crt`) that Gateways and policies reference.
  configMaps: '/api/v1/configmaps',
  // Ours (deploy/crds); a cluster without the CRD is watched quietly until it appears.
  trafficPolicies: '/apis/gateway.kubegate.io/v1alpha1/trafficpolicies',
  // The htpasswd and API-key Secrets TrafficPolicies name (Opaque).
  policySecrets: '/api/v1/secrets?fieldSelector=type%3DOpaque',
} as const;

export type WatchedKind = keyof typeof WATCHED;

/** The route kinds whose `status.parents` the controller writes, as their resource names. */
export type RouteStatusKind = 'httproutes' | 'grpcroutes' | 'tlsroutes' | 'tcproutes' | 'udproutes';

/** The policy kinds whose `status.ancestors` the controller writes. */
export type PolicyStatusKind = 'backendtlspolicies' | 'trafficpolicies';

/** Where a status of each kind is written (the `status` subresource). */
export function statusPath(
  kind: 'gatewayclasses' | 'gateways' | 'listenersets' | RouteStatusKind | PolicyStatusKind,
  ns: string,
  name: string,
): string {
  const base =
    kind === 'trafficpolicies' ? '/apis/gateway.kubegate.io/v1alpha1' : '/apis/gateway.networking.k8s.io/v1';
  return kind === 'gatewayclasses'
    ? `${base}/gatewayclasses/${name}/status`
    : `${base}/namespaces/${ns}/${kind}/${name}/status`;
}
