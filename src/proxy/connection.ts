import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { ServedBy } from './served-clusters.ts';

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
  /** The cluster its TLS handshake chose by SNI (see ServedClusters); undefined: the listener's. */
  readonly cluster: string | undefined;
  /** The server name it sent when no cluster lists it (ServedBy.unknownServerName). */
  readonly unknownServerName?: string;
  /** The last Host (or `:authority`) value that passed the cluster's Host check, and against what. */
  hostChecked?: { readonly host: string; readonly against: object };
}

/** Where the listener puts a connection's `ServedBy` on its TLS socket at the handshake. */
export const SERVED_BY = Symbol('kubegate.servedBy');

const SENT_CHAIN = Symbol('kubegate.sentChain');

/**
 * A `'secure'` listener to prepend on a server TLS socket: keeps the client's certificate with the
 * chain it sent (intermediates, as `issuerCertificate`). It must run before Node's own listener,
 * which reads the peer certificate in a way that drops the sent chain from later reads
 * (nodejs/node#65579: `getPeerCertificate(true)` then has no `issuerCertificate`).
 */
export function keepSentChain(this: TLSSocket): void {
  (this as TLSSocket & { [SENT_CHAIN]?: PeerCertificate })[SENT_CHAIN] = this.getPeerCertificate(true);
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
  // Through an HTTP/2 session's socket proxy too: it hands property reads to the TLS socket.
  const by = (socket as TLSSocket & { [SERVED_BY]?: ServedBy })[SERVED_BY];
  const cluster = by?.cluster;
  const unknownServerName = by?.unknownServerName;
  if (typeof socket.getPeerCertificate !== 'function' || by?.clientCerts === false)
    return { remoteAddress, certificate: null, certificateError: undefined, cluster, unknownServerName };
  // With the chain the client sent (`issuerCertificate`): a front proxy may present intermediates.
  const peer =
    (socket as TLSSocket & { [SENT_CHAIN]?: PeerCertificate })[SENT_CHAIN] ?? socket.getPeerCertificate(true);
  // Node returns an empty object, not null, when the client sent no certificate.
  const presented = peer !== null && Object.keys(peer).length > 0;
  return {
    remoteAddress,
    certificate: presented && socket.authorized ? peer : null,
    certificateError: presented && !socket.authorized ? socket.authorizationError : undefined,
    cluster,
    unknownServerName,
  };
}
