import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';

/**
 * What the gateway knows of one client connection, read once when its first request arrives:
 * the TLS handshake cannot change during a connection (renegotiation is off), so neither can the
 * peer certificate, and `getPeerCertificate()` builds a new object on every call.
 */
export interface ClientConnection {
  readonly remoteAddress: string;
  /** The verified client certificate; null when none was presented or it failed verification. */
  readonly certificate: PeerCertificate | null;
  /** Why a presented certificate failed verification. */
  readonly certificateError: Error | undefined;
}

const byConnection = new WeakMap<object, ClientConnection>();

/** The connection of an HTTP/1.1 request (its TLS socket). */
export function socketConnection(socket: Socket): ClientConnection {
  let c = byConnection.get(socket);
  if (c === undefined) {
    c = read(socket as TLSSocket);
    byConnection.set(socket, c);
  }
  return c;
}

/** The connection of an HTTP/2 stream (its session; `session.socket` is a proxy of the TLS socket). */
export function sessionConnection(session: Http2Session): ClientConnection {
  let c = byConnection.get(session);
  if (c === undefined) {
    c = read(session.socket as TLSSocket);
    byConnection.set(session, c);
  }
  return c;
}

function read(socket: TLSSocket): ClientConnection {
  const remoteAddress = socket.remoteAddress ?? '';
  if (typeof socket.getPeerCertificate !== 'function')
    return { remoteAddress, certificate: null, certificateError: undefined };
  const peer = socket.getPeerCertificate();
  // Node returns an empty object, not null, when the client sent no certificate.
  const presented = peer !== null && Object.keys(peer).length > 0;
  return {
    remoteAddress,
    certificate: presented && socket.authorized ? peer : null,
    certificateError: presented && !socket.authorized ? socket.authorizationError : undefined,
  };
}
