import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { GatewayError } from '../errors.ts';

/** Any HTTP/1 or HTTP/2 compatibility response. */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** `writeHead` for either response kind (their overloads differ only in types). */
export function writeHead(
  res: AnyResponse,
  status: number,
  headers: Record<string, string | number | string[]>,
): void {
  (res as ServerResponse).writeHead(status, headers);
}

/** Turns anything thrown on a request path into the `GatewayError` the client will see. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError(
    'KG_INTERNAL',
    'InternalError',
    'Internal error occurred: kubegate failed to handle the request',
    { cause: err },
  );
}

/** Writes a Kubernetes `Status` body (the response must not have started). */
export function sendStatus(res: AnyResponse, err: GatewayError): void {
  const body = JSON.stringify(err.toStatus());
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache, private',
  };
  if (err.retryAfter !== undefined) headers['retry-after'] = err.retryAfter;
  writeHead(res, err.status, headers);
  res.end(body);
}

/** A short jittered `Retry-After` (1–3 s) so rejected clients do not come back in lockstep. */
export function jitteredRetryAfter(): number {
  return 1 + Math.floor(Math.random() * 3);
}
