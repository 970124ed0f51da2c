import type { Duplex } from 'node:stream';
import { GatewayError } from '../errors.ts';

// Node's own answers to what its HTTP/1.1 parser refuses; only the 400 changes (a Status body).
const NODE_STATUS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

type ClientSocket = Duplex & { _httpMessage?: { headersSent?: boolean } | null };

/**
 * The HTTP/1.1 server's `clientError` handler: a request its parser refused (Content-Length
 * beside Transfer-Encoding, obs-fold, a bare CR or LF, a NUL, a bad chunk size, `PRI *
 * HTTP/2.0`…) gets a 400 with a Kubernetes `Status` body, like any other answer of the
 * gateway, and the connection is closed, so nothing after the bad bytes is ever read as a
 * request. Timeouts and oversized heads keep Node's bare 408/431/413.
 */
export function answerMalformedRequest(
  err: Error & { code?: string; reason?: unknown },
  socket: Duplex,
): void {
  const s = socket as ClientSocket;
  // Like Node's default: no answer once a response has started on this connection, or to a reset.
  if (err.code === 'ECONNRESET' || !s.writable || s._httpMessage?.headersSent === true) {
    s.destroy();
    return;
  }
  const known = err.code === undefined ? undefined : NODE_STATUS[err.code];
  let head: string;
  if (known !== undefined) {
    head = `HTTP/1.1 ${known}\r\nConnection: close\r\n\r\n`;
  } else {
    const detail = typeof err.reason === 'string' ? `: ${err.reason}` : '';
    const body = JSON.stringify(
      new GatewayError('KG_BAD_REQUEST', 'BadRequest', `malformed HTTP/1.1 request${detail}`).toStatus(),
    );
    head =
      'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  }
  s.once('finish', () => s.destroy());
  s.end(head);
}
