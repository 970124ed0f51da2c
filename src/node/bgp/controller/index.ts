// The routing controller of `kubegate node --bgp` (docs/bgp.md, "Routing controller").
export { cleanupBgpRoutes, RoutingController, type RoutingControllerOptions } from './controller.ts';
export {
  NODE_ASN_ANNOTATION,
  PEER_ANNOTATIONS,
  routingIntent,
  sessionKey,
  type IntentNeighbor,
  type IntentResult,
  type RoutingIntent,
  type RoutingNode,
} from './intent.ts';
export {
  DEFAULT_CLUSTER_ASN,
  DEFAULT_GRACEFUL_RESTART_SECONDS,
  parseAsn,
  parsePeerRouters,
  routingOptions,
  type PeerRouter,
  type PeerRouterSource,
  type RoutingOptions,
} from './options.ts';
export { RoutingConfigError, type RoutingConfigErrorCode } from './errors.ts';
