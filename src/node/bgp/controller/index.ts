// The routing controller of `kubegate node --bgp` (docs/bgp.md, "Routing controller").
export { cleanupBgpRoutes, RoutingController, type RoutingControllerOptions } from './controller.ts';
export {
  NODE_ASN_ANNOTATION,
  PEER_ANNOTATIONS,
  RR_ANNOTATIONS,
  parseClusterId,
  routingIntent,
  sessionKey,
  speakerKey,
  type IntentNeighbor,
  type IntentResult,
  type RoutingIntent,
  type RoutingNode,
  type RoutingProblem,
} from './intent.ts';
export {
  SERVICE_ADVERTISE_ANNOTATIONS,
  SERVICE_LOCAL_ANNOTATION,
  SERVICE_SKIP_LB_IPS_ANNOTATION,
  serviceAnnouncements,
  type ServiceAnnouncements,
} from './services.ts';
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
