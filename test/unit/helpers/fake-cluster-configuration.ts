/**
 * A GatewayConfiguration document for unit tests: one listener on 127.0.0.1:0 serving cluster
 * `fake`, whose one endpoint is a fake apiserver at `upstreamURL`. Certificate paths are relative to
 * the folder the caller resolves it in (gateway.crt/.key, ca.crt). `cluster` and `root` patch the
 * cluster and the document.
 */
export function fakeClusterConfiguration(
  upstreamURL: string,
  cluster: Record<string, unknown> = {},
  root: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [
      {
        name: 'main',
        address: '127.0.0.1',
        port: 0,
        tls: { certFile: 'gateway.crt', keyFile: 'gateway.key', clientCAFile: 'ca.crt' },
        cluster: 'fake',
      },
    ],
    clusters: [
      {
        name: 'fake',
        endpoints: [{ name: 'fake-apiserver', url: upstreamURL }],
        upstreamCA: { file: 'ca.crt' },
        credentials: { certFile: 'gateway.crt', keyFile: 'gateway.key' },
        healthCheck: { intervalSeconds: 0.5, timeoutSeconds: 1, rise: 1, fall: 2 },
        ...cluster,
      },
    ],
    ...root,
  };
}
