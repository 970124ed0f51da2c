import { join } from 'node:path';

// Command lines of the control-plane binaries, kept apart from process handling so they can be read
// (and compared with the upstream docs) in one place.

/** Paths of the generated PKI inside a dev folder. */
export function pkiPaths(dir: string) {
  const p = (name: string) => join(dir, 'pki', name);
  return {
    dir: join(dir, 'pki'),
    ca: { cert: p('ca.crt'), key: p('ca.key') },
    frontProxyCA: { cert: p('front-proxy-ca.crt'), key: p('front-proxy-ca.key') },
    frontProxyClient: { cert: p('front-proxy-client.crt'), key: p('front-proxy-client.key') },
    apiserver: { cert: p('apiserver.crt'), key: p('apiserver.key') },
    admin: { cert: p('admin.crt'), key: p('admin.key') },
    gatewayUpstream: { cert: p('gateway-upstream.crt'), key: p('gateway-upstream.key') },
    gatewayServing: { cert: p('gateway.crt'), key: p('gateway.key') },
    controllerManager: { cert: p('controller-manager.crt'), key: p('controller-manager.key') },
    scheduler: { cert: p('scheduler.crt'), key: p('scheduler.key') },
    kubeletClient: { cert: p('apiserver-kubelet-client.crt'), key: p('apiserver-kubelet-client.key') },
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}
export type PKIPaths = ReturnType<typeof pkiPaths>;

export const SERVICE_CIDR = '10.96.0.0/16';
/** Pod addresses; kube-controller-manager gives each Node a /24 of it as `spec.podCIDR`. */
export const CLUSTER_CIDR = '10.244.0.0/16';
export const NODE_CIDR_MASK_SIZE = 24;
export const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=default',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${clientPort}`,
    `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    '--log-level=warn',
    // A throwaway dev store: durability is not worth the fsync latency.
    '--unsafe-no-fsync',
  ];
}

export function apiserverArgs(dir: string, index: number, port: number, etcdPort: number): string[] {
  const pki = pkiPaths(dir);
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.apiserver.cert}`,
    `--tls-private-key-file=${pki.apiserver.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    '--authorization-mode=Node,RBAC',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--service-account-issuer=${SA_ISSUER}`,
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    `--requestheader-client-ca-file=${pki.frontProxyCA.cert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
    `--proxy-client-key-file=${pki.frontProxyClient.key}`,
    // No kube-proxy here: the aggregator dials an APIService's endpoint address, not its ClusterIP.
    '--enable-aggregator-routing=true',
    `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
    `--audit-log-path=${join(dir, 'audit', `apiserver-${index}.log`)}`,
    '--audit-log-format=json',
    '--audit-log-mode=blocking',
    // Every replica shares 127.0.0.1, so the lease reconciler would make the `kubernetes`
    // Service's endpoints flap between ports; nothing in-cluster needs them here.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
    // Kubelets (the podlets) are reached through an HTTP CONNECT proxy on a unix socket: a Node's
    // InternalIP lives in a network namespace, out of reach of this root-namespace process.
    `--egress-selector-config-file=${join(dir, 'egress-selector.yaml')}`,
    '--kubelet-preferred-address-types=InternalIP',
    `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
    `--kubelet-client-key=${pki.kubeletClient.key}`,
    `--kubelet-certificate-authority=${pki.ca.cert}`,
    // Serving CBOR (application/cbor) is alpha and off by default in 1.37 (406 without it); the
    // forwarding e2e test reads CBOR through the gateway.
    '--feature-gates=CBORServingAndStorage=true',
  ];
}

export function controllerManagerArgs(dir: string, port: number): string[] {
  const pki = pkiPaths(dir);
  return [
    `--kubeconfig=${join(dir, 'controller-manager.kubeconfig')}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    // The apiserver's serving certificate (127.0.0.1, signed by the cluster CA) so its health can be checked.
    `--tls-cert-file=${pki.apiserver.cert}`,
    `--tls-private-key-file=${pki.apiserver.key}`,
    '--leader-elect=false',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.ca.cert}`,
    `--cluster-signing-cert-file=${pki.ca.cert}`,
    `--cluster-signing-key-file=${pki.ca.key}`,
    '--cluster-name=kubegate-dev',
    '--allocate-node-cidrs=true',
    `--cluster-cidr=${CLUSTER_CIDR}`,
    `--node-cidr-mask-size=${NODE_CIDR_MASK_SIZE}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
  ];
}

export function schedulerArgs(dir: string, port: number): string[] {
  const pki = pkiPaths(dir);
  return [
    `--kubeconfig=${join(dir, 'scheduler.kubeconfig')}`,
    `--authentication-kubeconfig=${join(dir, 'scheduler.kubeconfig')}`,
    `--authorization-kubeconfig=${join(dir, 'scheduler.kubeconfig')}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.apiserver.cert}`,
    `--tls-private-key-file=${pki.apiserver.key}`,
    '--leader-elect=false',
  ];
}

/**
 * The apiservers' egress selection: traffic to the cluster (kubelets, and everything else the
 * apiserver dials: aggregated APIs, webhooks) goes through the dev process's CONNECT proxy.
 */
export function egressSelectorConfig(socket: string): string {
  return `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
  - name: cluster
    connection:
      proxyProtocol: HTTPConnect
      transport:
        uds:
          udsName: ${socket}
`;
}

/** Metadata for every request, as JSON lines; RequestReceived is dropped (it repeats the others). */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`;
