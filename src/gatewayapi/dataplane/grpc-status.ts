/** gRPC status codes the data plane answers with (grpc/doc/statuscodes.md). */
export const GRPC_STATUS = {
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** Whether a request is gRPC: its content type is `application/grpc` or `application/grpc+…`. */
export function isGrpcRequest(contentType: string | undefined): boolean {
  return (
    contentType !== undefined &&
    contentType.startsWith('application/grpc') &&
    (contentType.length === 16 || contentType[16] === '+' || contentType[16] === ';')
  );
}

/**
 * The gRPC status for an HTTP status the data plane would answer: no route is UNIMPLEMENTED (as
 * gRPC's own HTTP mapping reads a 404), an unreachable backend UNAVAILABLE, a timeout
 * DEADLINE_EXCEEDED, an invalid backend INTERNAL.
 */
export function grpcStatusOf(httpStatus: number): number {
  switch (httpStatus) {
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 429:
      return GRPC_STATUS.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
      return GRPC_STATUS.UNAVAILABLE;
    case 504:
      return GRPC_STATUS.DEADLINE_EXCEEDED;
    default:
      return GRPC_STATUS.INTERNAL;
  }
}
