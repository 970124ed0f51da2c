import type { TLSSocket } from 'node:tls';
import { distinctHeaders, type AuthenticationInput } from '../auth/index.ts';

/** What a client presents for authentication: its verified certificate, `Authorization`, Impersonate-*. */
export function authenticationInput(
  socket: TLSSocket,
  authorization: string | string[] | undefined,
  rawHeaders: readonly string[],
): AuthenticationInput {
  const peer = socket.getPeerCertificate();
  // Node returns an empty object, not null, when the client sent no certificate.
  const presented = peer !== null && Object.keys(peer).length > 0;
  return {
    authorization: Array.isArray(authorization) ? authorization[0] : authorization,
    certificate: presented && socket.authorized ? peer : null,
    certificateError: presented && !socket.authorized ? socket.authorizationError : undefined,
    headers: distinctHeaders(rawHeaders),
  };
}

/** Adds a header value, keeping repeated lines as an array (one header field each). */
export function appendHeader<H extends Record<string, unknown>>(h: H, name: string, value: string): void {
  const rec = h as Record<string, unknown>;
  const prev = rec[name];
  if (prev === undefined) rec[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else rec[name] = [String(prev), value];
}
