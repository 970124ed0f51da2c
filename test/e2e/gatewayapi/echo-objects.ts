/**
 * An echo-basic Deployment `name` (the conformance suite's echo server, which answers with the
 * request it saw) and its Service (port 8080), in namespace default.
 */
export function echoBackend(name: string): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: 'echo',
                image: 'registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0',
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ],
                readinessProbe: { httpGet: { path: '/', port: 3000 } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080, targetPort: 3000 }] },
    },
  ];
}

/** Gateway `name` of class kubegate with one HTTP listener on port 80, in namespace default. */
export function httpGateway(name: string): Record<string, unknown> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace: 'default' },
    spec: { gatewayClassName: 'kubegate', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
  };
}

/** TrafficPolicy `name` in namespace default. */
export function trafficPolicy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'gateway.kubegate.io/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name, namespace: 'default' },
    spec,
  };
}

/** An HTTPRoute rule `name` sending requests under `path` to Service `backend` port 8080. */
export function prefixRule(name: string, path: string, backend: string): Record<string, unknown> {
  return {
    name,
    matches: [{ path: { type: 'PathPrefix', value: path } }],
    backendRefs: [{ name: backend, port: 8080 }],
  };
}
