import {
  createServer as createHttp,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createHttp2,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createServer as createTls,
  type SecureContext,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import { TLS_POLICY } from '../../proxy/tls-policy.ts';
import { GatewayExchange, type ExchangeContext, type ExchangePort } from './exchange.ts';
import { sniffPreface } from './h2c-preface.ts';
import { requestHost } from './host-table.ts';
import type { PortTable } from './tables.ts';
import { isWebSocketUpgrade, upgradeResponse } from './upgrade.ts';

/** How long a removed socket's requests may take to finish before their connections are cut. */
const DRAIN_MS = 10_000;
/** An HTTP/2 client connection without a request for this long is closed (GOAWAY). */
const H2_IDLE_MS = 60_000;

/**
 * One bound (address, port) of a Gateway. HTTP: each connection is HTTP/1.1, or h2c when it opens
 * with the HTTP/2 preface (prior knowledge, as gRPC clients connect). HTTPS: TLS with the
 * certificate by SNI (the most specific listener hostname with one), then HTTP/2 or HTTP/1.1 by
 * ALPN. Both protocols feed the same exchange (Node's HTTP/2 compatibility objects have the
 * HTTP/1.1 shape). Its routing table is swapped in one assignment; a request keeps the table it
 * started with.
 */
export class PortServer implements ExchangePort {
  table: PortTable;
  /** The listening socket: plain TCP (HTTP) or TLS (HTTPS); it hands connections on. */
  readonly #front: NetServer | TlsServer;
  readonly #h1: HttpServer;
  readonly #h2: Http2Server;
  readonly #sessions = new Set<ServerHttp2Session>();
  /** Every accepted connection, whichever server has it now (or none yet: TLS, preface). */
  readonly #sockets = new Set<Socket>();
  readonly #ctx: ExchangeContext;
  /** The PEM of the default certificate in force (HTTPS), to skip needless context swaps. */
  #defaultPem: string | null = null;
  /** HTTPS: client certificates are requested (fixed for the socket's life; see `requestsCertificates`). */
  readonly #requestCert: boolean;
  #inflight = 0;

  constructor(ctx: ExchangeContext, table: PortTable) {
    this.#ctx = ctx;
    this.table = table;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.#inflight++;
      new GatewayExchange(this.#ctx, this, req, res).run();
    };
    this.#h1 = createHttp({ shouldUpgradeCallback: isWebSocketUpgrade }, onRequest);
    this.#h1.on('clientError', onClientError);
    this.#h1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.#inflight++;
      const res = upgradeResponse(req, socket);
      new GatewayExchange(this.#ctx, this, req, res, { socket, head }).run();
    });
    // This server never listens (the front hands it sockets), and Node starts tracking its
    // connections, which closeIdleConnections and the header timeout need, only on 'listening'.
    this.#h1.emit('listening');
    this.#h2 = createHttp2();
    // The exchange reads only what both request shapes have (see GatewayExchange).
    this.#h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) =>
      onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse),
    );
    this.#h2.on('session', (s: ServerHttp2Session) => {
      this.#sessions.add(s);
      s.once('close', () => this.#sessions.delete(s));
      closeWhenIdle(s);
    });
    this.#h2.on('sessionError', ignore);
    this.#requestCert = table.protocol === 'HTTPS' && table.clientValidation !== null;
    if (table.protocol === 'HTTPS') {
      const tls = createTls({
        ...TLS_POLICY,
        ALPNProtocols: ['h2', 'http/1.1'],
        // Node would check the certificate and cut the connection itself; with the check left to
        // 'secureConnection', the mode can change (AllowValidOnly, AllowInsecureFallback) in place.
        requestCert: this.#requestCert,
        rejectUnauthorized: false,
        SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) =>
          cb(
            null,
            this.table.certificates.lookup(requestHost(name)) ?? this.table.defaultCertificate?.context,
          ),
      });
      tls.on('secureConnection', (socket: TLSSocket) => {
        if (this.table.clientValidation?.mode === 'AllowValidOnly' && !socket.authorized) {
          socket.destroy();
          return;
        }
        (socket.alpnProtocol === 'h2' ? this.#h2 : this.#h1).emit('connection', socket);
      });
      tls.on('tlsClientError', ignore); // a failed handshake concerns that client only
      this.#front = tls;
    } else {
      this.#front = createNet((socket: Socket) =>
        sniffPreface(socket, (s, h2) => {
          // The HTTP/2 session takes the bytes put back itself (resuming would replay them to it);
          // the HTTP/1.1 parser reads them as 'data' once the socket flows again.
          if (h2) this.#h2.emit('connection', s);
          else {
            this.#h1.emit('connection', s);
            s.resume();
          }
        }),
      );
    }
    this.#front.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#useCertificate(table);
  }

  /** The protocol the socket serves; a change needs a new socket. */
  get protocol(): PortTable['protocol'] {
    return this.table.protocol;
  }

  /** Whether the TLS socket asks clients for a certificate; a change needs a new socket. */
  get requestsCertificates(): boolean {
    return this.#requestCert;
  }

  /** Binds; rejects with the listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL…). */
  listen(): Promise<void> {
    const t = this.table;
    return new Promise((resolve, reject) => {
      const s = this.#front;
      const fail = (err: Error) => reject(err);
      s.once('error', fail);
      s.listen({ port: t.port, host: t.address === '' ? undefined : t.address }, () => {
        s.off('error', fail);
        s.on('error', ignore);
        resolve();
      });
    });
  }

  /** Takes a new routing table (and certificates) for the next requests and handshakes. */
  setTable(table: PortTable): void {
    this.#useCertificate(table);
    this.table = table;
  }

  requestDone(): void {
    this.#inflight--;
  }

  /**
   * Stops accepting, sends GOAWAY to HTTP/2 clients, lets requests in flight finish (up to
   * `drainMs`), then cuts what is left.
   */
  async close(drainMs = DRAIN_MS): Promise<void> {
    const front = this.#front;
    const h1 = this.#h1;
    const closed = new Promise<void>((resolve) => front.close(() => resolve()));
    for (const s of this.#sessions) s.close();
    h1.closeIdleConnections();
    const deadline = Date.now() + drainMs;
    while (this.#inflight > 0 && Date.now() < deadline) {
      await sleep(20);
      h1.closeIdleConnections();
    }
    h1.closeAllConnections();
    for (const s of this.#sessions) s.destroy();
    for (const s of this.#sockets) s.destroy();
    h1.close();
    await closed;
  }

  #useCertificate(table: PortTable): void {
    const d = table.defaultCertificate;
    if (table.protocol !== 'HTTPS' || d === null) return;
    const ca = table.clientCA;
    const pem = `${d.cert}\0${d.key}\0${ca ?? ''}`;
    if (pem === this.#defaultPem) return;
    (this.#front as TlsServer).setSecureContext({
      ...TLS_POLICY,
      cert: d.cert,
      key: d.key,
      ...(ca === null ? {} : { ca }),
    });
    this.#defaultPem = pem;
  }
}

function ignore(): void {}

/**
 * GOAWAY for an HTTP/2 session with no stream open for `H2_IDLE_MS`. Node's session timeout counts
 * frames, not streams, and would also fire during a quiet long call; so open streams are counted.
 */
function closeWhenIdle(s: ServerHttp2Session): void {
  let open = 0;
  s.on('stream', (stream: ServerHttp2Stream) => {
    open++;
    stream.once('close', () => open--);
  });
  s.setTimeout(H2_IDLE_MS, () => {
    if (open === 0) s.close();
  });
}

/** Node's own 400/408/431 for what its parser refuses, then the connection closed. */
function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
