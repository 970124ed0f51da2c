/** Stable codes of the routing controller's configuration errors. */
export type RoutingConfigErrorCode =
  | 'ERR_BGP_BAD_ASN'
  | 'ERR_BGP_PEER_ROUTERS_MISMATCH'
  | 'ERR_BGP_BAD_PEER_ADDRESS'
  | 'ERR_BGP_BAD_GRACEFUL_RESTART'
  | 'ERR_BGP_BAD_SERVICE_RANGE'
  | 'ERR_BGP_BAD_CLUSTER_ID'
  | 'ERR_BGP_BAD_COMMUNITY'
  | 'ERR_BGP_BAD_IMPORT_REJECT'
  | 'ERR_BGP_BAD_PREPEND';

/** A flag or annotation the routing controller cannot use. */
export class RoutingConfigError extends Error {
  override name = 'RoutingConfigError';
  readonly code: RoutingConfigErrorCode;

  constructor(code: RoutingConfigErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
