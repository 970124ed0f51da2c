import type { KubeClient } from '../kube/client.ts';

// The ClusterGateway API as an aggregated API of the dev cluster: an APIService sends
// /apis/cluster.core.oam.dev/v1alpha1 to a Service whose endpoint is the gateway. The aggregator
// dials that endpoint's address (--enable-aggregator-routing) through the apiservers' egress
// proxy; the Endpoints API refuses loopback addresses, so the endpoint is an address of the
// documentation range that the egress proxy joins to the gateway's loopback listener.

/**
 * The Service in front of the gateway, and the name the aggregator verifies its certificate for. In
 * kube-system, not beside deploy/'s Service `kubegate` in kubegate-system: applying or deleting
 * deploy/ on the dev cluster must not touch the dev gateway's registration.
 */
export const APISERVICE_SERVICE = 'kubegate-dev-clustergateway';
export const APISERVICE_NAMESPACE = 'kube-system';
export const APISERVICE_HOST = `${APISERVICE_SERVICE}.${APISERVICE_NAMESPACE}.svc`;
/** TEST-NET-1 (RFC 5737): never routed, it only names the gateway to the egress proxy. */
export const APISERVICE_ADDRESS = '192.0.2.1';
export const APISERVICE_NAME = 'v1alpha1.cluster.core.oam.dev';

const NS = APISERVICE_NAMESPACE;

/** Registers the APIService, its Service and endpoint (`port`: the gateway's), and waits until Available. */
export async function registerClusterGatewayAPIService(
  admin: KubeClient,
  port: number,
  caPEM: string,
  timeoutMs = 60_000,
): Promise<void> {
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: APISERVICE_SERVICE, namespace: NS },
    spec: { ports: [{ port: 443, targetPort: port, protocol: 'TCP' }] },
  };
  const endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: APISERVICE_SERVICE, namespace: NS },
    subsets: [{ addresses: [{ ip: APISERVICE_ADDRESS }], ports: [{ port, protocol: 'TCP' }] }],
  };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: APISERVICE_SERVICE,
      namespace: NS,
      labels: { 'kubernetes.io/service-name': APISERVICE_SERVICE },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [APISERVICE_ADDRESS], conditions: { ready: true } }],
    ports: [{ port, protocol: 'TCP' }],
  };
  const apiService = {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: APISERVICE_NAME },
    spec: {
      group: 'cluster.core.oam.dev',
      version: 'v1alpha1',
      service: { namespace: NS, name: APISERVICE_SERVICE, port: 443 },
      caBundle: Buffer.from(caPEM).toString('base64'),
      groupPriorityMinimum: 2000,
      versionPriority: 10,
    },
  };
  await admin.apply(`/api/v1/namespaces/${NS}/services`, service);
  await admin.apply(`/api/v1/namespaces/${NS}/endpoints`, endpoints);
  await admin.apply(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, slice);
  await admin.apply('/apis/apiregistration.k8s.io/v1/apiservices', apiService);
  const deadline = Date.now() + timeoutMs;
  let last = 'no condition yet';
  while (Date.now() < deadline) {
    const o = await admin.json<{
      status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
    }>('GET', `/apis/apiregistration.k8s.io/v1/apiservices/${APISERVICE_NAME}`);
    const c = o.status?.conditions?.find((x) => x.type === 'Available');
    if (c?.status === 'True') return;
    if (c) last = `${c.reason ?? ''}: ${c.message ?? ''}`;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`APIService ${APISERVICE_NAME} not Available within ${timeoutMs / 1000}s (${last})`);
}
