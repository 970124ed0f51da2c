/** Kubernetes `Status.reason` values the gateway answers with. */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'BadGateway'
  | 'Conflict'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  /** 421: the request's Host belongs to another cluster than the connection's (SNI); not a metav1 reason. */
  | 'Misdirected';

/** Stable codes of every condition the gateway reports on its own; never reuse a retired code. */
export type GatewayErrorCode =
  | 'KG_BAD_REQUEST'
  | 'KG_UNAUTHENTICATED'
  | 'KG_IMPERSONATION_FORBIDDEN'
  | 'KG_NO_HEALTHY_UPSTREAM'
  | 'KG_UPSTREAM_UNREACHABLE'
  | 'KG_UPSTREAM_TIMEOUT'
  | 'KG_SHUTTING_DOWN'
  | 'KG_AUTH_BACKEND'
  | 'KG_INTERNAL'
  | 'KG_CLUSTER_NOT_FOUND'
  | 'KG_ACCESS_DENIED'
  | 'KG_RULE_DENIED'
  | 'KG_RATE_LIMITED'
  | 'KG_QUEUE_FULL'
  | 'KG_QUEUE_TIMEOUT'
  | 'KG_LONG_RUNNING_LIMIT'
  | 'KG_CIRCUIT_OPEN'
  | 'KG_REQUEST_TOO_LARGE'
  | 'KG_USER_LONG_RUNNING_LIMIT'
  | 'KG_NOT_FOUND'
  | 'KG_METHOD_NOT_ALLOWED'
  | 'KG_NOT_ACCEPTABLE'
  | 'KG_MISDIRECTED'
  /** A watch on a rule with `share: watches` that the shared stream's access check denied. */
  | 'KG_SHARED_WATCH_FORBIDDEN';

const REASON_STATUS: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  TooManyRequests: 429,
  InternalError: 500,
  BadGateway: 502,
  ServiceUnavailable: 503,
  Timeout: 504,
  Conflict: 409,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  RequestEntityTooLarge: 413,
  Misdirected: 421,
};

/** The `Status.reason` kube-apiserver uses for an HTTP status (for configured answers). */
export function reasonForStatus(status: number): StatusReason {
  for (const [reason, code] of Object.entries(REASON_STATUS))
    if (code === status) return reason as StatusReason;
  return status >= 500 ? 'InternalError' : 'BadRequest';
}

/** A condition the gateway answers itself, as a Kubernetes `Status`. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  readonly code: GatewayErrorCode;
  readonly reason: StatusReason;
  readonly status: number;
  /** Seconds for `Retry-After`, when the client may try again. */
  readonly retryAfter: number | undefined;

  constructor(
    code: GatewayErrorCode,
    reason: StatusReason,
    message: string,
    opts: { retryAfter?: number; cause?: unknown; status?: number } = {},
  ) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.reason = reason;
    this.status = opts.status ?? REASON_STATUS[reason];
    this.retryAfter = opts.retryAfter;
  }

  /** The `Status` object for the response body. */
  toStatus(): KubeStatus {
    const s: KubeStatus = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.status,
    };
    if (this.retryAfter !== undefined) s.details = { retryAfterSeconds: this.retryAfter };
    return s;
  }
}

/** The wire form of a Kubernetes `Status` (meta/v1). */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: StatusReason;
  code: number;
  details?: { retryAfterSeconds?: number };
}
