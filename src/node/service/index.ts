// The Service proxy: Services and EndpointSlices in, the `ip`/`ip6 kubegate-proxy` tables out
// (pure). See docs/node-networking.md, section "Service proxy".
export type { EndpointSlice, Service, ServiceProblem } from './objects.ts';
export { PROXY_TABLE, MASQUERADE_MARK } from './proxy-table.ts';
export {
  serviceProxyTables,
  type HealthCheck,
  type ServiceProxyInput,
  type ServiceProxyOutput,
  type UDPDestination,
} from './translate.ts';
