export { GatewayConfiguration } from './gateway-configuration.ts';
export { CRDClusterSpec, Defaults, FileCluster } from './cluster.ts';
export { UpstreamCluster } from './upstream-cluster.ts';
export { DefaultRule, Rule } from './rule.ts';
export { Limits } from './limits.ts';
export { Match } from './match.ts';
