export { serveClusterGatewayAPI } from './api.ts';
export { clusterGatewayTarget, type PathTarget } from './path.ts';
export { ClusterSecretSource } from './secret-source.ts';
export { clusterFromSecret, CREDENTIAL_TYPE_LABEL, ORIGIN_PREFIX } from './secret.ts';
export { isClusterGatewayCluster } from './select.ts';
