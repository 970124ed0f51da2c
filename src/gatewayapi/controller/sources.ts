/** The collections the controller lists and watches, by the input field of `translate` they fill. */
export const WATCHED = {
  gatewayClasses: '/apis/gateway.networking.k8s.io/v1/gatewayclasses',
  gateways: '/apis/gateway.networking.k8s.io/v1/gateways',
  httpRoutes: '/apis/gateway.networking.k8s.io/v1/httproutes',
  // v1 in the v1.7 CRDs (TLSRoute in the standard channel, TCPRoute and UDPRoute experimental);
  // a cluster without one is watched quietly until the CRD appears.
  tlsRoutes: '/apis/gateway.networking.k8s.io/v1/tlsroutes',
  tcpRoutes: '/apis/gateway.networking.k8s.io/v1/tcproutes',
  udpRoutes: '/apis/gateway.networking.k8s.io/v1/udproutes',
  // v1beta1 is the storage version in v1.7 and served by every release that has the kind.
  referenceGrants: '/apis/gateway.networking.k8s.io/v1beta1/referencegrants',
  services: '/api/v1/services',
  endpointSlices: '/apis/discovery.k8s.io/v1/endpointslices',
  // Only TLS Secrets can be listener certificates; a reference to any other type is reported as
  // InvalidCertificateRef whether it is cached or not, so the rest are never held in memory.
  secrets: '/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls',
  namespaces: '/api/v1/namespaces',
} as const;

export type WatchedKind = keyof typeof WATCHED;

/** The route kinds whose `status.parents` the controller writes, as their resource names. */
export type RouteStatusKind = 'httproutes' | 'tlsroutes' | 'tcproutes' | 'udproutes';

/** Where a status of each kind is written (the `status` subresource). */
export function statusPath(
  kind: 'gatewayclasses' | 'gateways' | RouteStatusKind,
  ns: string,
  name: string,
): string {
  const base = '/apis/gateway.networking.k8s.io/v1';
  return kind === 'gatewayclasses'
    ? `${base}/gatewayclasses/${name}/status`
    : `${base}/namespaces/${ns}/${kind}/${name}/status`;
}
