import { distinctHeaders, type AuthenticationInput } from '../auth/index.ts';
import type { ClientConnection } from './connection.ts';

const NO_HEADERS: Readonly<Record<string, string[]>> = Object.freeze(
  Object.create(null) as Record<string, string[]>,
);

/** What a client presents for authentication: its verified certificate, `Authorization`, Impersonate-*. */
export function authenticationInput(
  connection: ClientConnection,
  authorization: string | string[] | undefined,
  rawHeaders: readonly string[],
): AuthenticationInput {
  return {
    authorization: Array.isArray(authorization) ? authorization[0] : authorization,
    certificate: connection.certificate,
    certificateError: connection.certificateError,
    // Only the Impersonate-* lines are read from these; most requests have none.
    headers: asksImpersonation(rawHeaders) ? distinctHeaders(rawHeaders) : NO_HEADERS,
    rawHeaders,
    connection,
  };
}

/** Whether any header name starts with `impersonate-`, in any case. */
function asksImpersonation(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const n = rawHeaders[i];
    if (
      n.length > 12 &&
      (n.charCodeAt(0) | 0x20) === 105 /* i */ &&
      n.slice(0, 12).toLowerCase() === 'impersonate-'
    )
      return true;
  }
  return false;
}

/** Adds a header value, keeping repeated lines as an array (one header field each). */
export function appendHeader<H extends Record<string, unknown>>(h: H, name: string, value: string): void {
  const rec = h as Record<string, unknown>;
  const prev = rec[name];
  if (prev === undefined) rec[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else rec[name] = [String(prev), value];
}
