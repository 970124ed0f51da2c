import type { OutgoingHttpHeaders } from 'node:http2';
import { GatewayError } from '../errors.ts';
import type { ClientExchange } from './exchange.ts';

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
export function sendStatus(x: ClientExchange, err: GatewayError): void {
  const body = JSON.stringify(err.toStatus());
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache, private',
  };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  x.respond(err.status, headers, false);
  x.end(body);
}

/** A short jittered `Retry-After` (1–3 s) so rejected clients do not come back in lockstep. */
export function jitteredRetryAfter(): number {
  return 1 + Math.floor(Math.random() * 3);
}
