import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecureContext } from 'node:tls';
import { TLS_POLICY } from '../../proxy/tls-policy.ts';
import { GatewayExchange, type ExchangeContext, type ExchangePort } from './exchange.ts';
import { requestHost } from './host-table.ts';
import type { PortTable } from './tables.ts';

/** How long a removed socket's requests may take to finish before their connections are cut. */
const DRAIN_MS = 10_000;

/**
 * One bound (address, port) of a Gateway: an HTTP/1.1 server, behind TLS for HTTPS (certificate
 * by SNI: the most specific listener hostname with one; ALPN http/1.1). Its routing table is
 * swapped in one assignment; a request keeps the table it started with.
 */
export class PortServer implements ExchangePort {
  table: PortTable;
  readonly #server: Server;
  readonly #ctx: ExchangeContext;
  /** The PEM of the default certificate in force (HTTPS), to skip needless context swaps. */
  #defaultPem: string | null = null;
  #inflight = 0;

  constructor(ctx: ExchangeContext, table: PortTable) {
    this.#ctx = ctx;
    this.table = table;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.#inflight++;
      new GatewayExchange(this.#ctx, this, req, res).run();
    };
    if (table.protocol === 'HTTPS') {
      this.#server = createHttps(
        {
          ...TLS_POLICY,
          ALPNProtocols: ['http/1.1'],
          SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) =>
            cb(
              null,
              this.table.certificates.lookup(requestHost(name)) ?? this.table.defaultCertificate?.context,
            ),
        },
        onRequest,
      );
      this.#server.on('tlsClientError', ignore); // a failed handshake concerns that client only
    } else {
      this.#server = createHttp(onRequest);
    }
    this.#server.on('clientError', onClientError);
    this.#useCertificate(table);
  }

  /** The protocol the socket serves; a change needs a new socket. */
  get protocol(): PortTable['protocol'] {
    return this.table.protocol;
  }

  /** Binds; rejects with the listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL…). */
  listen(): Promise<void> {
    const t = this.table;
    return new Promise((resolve, reject) => {
      const s = this.#server;
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

  /** Stops accepting, lets requests in flight finish (up to `drainMs`), then cuts what is left. */
  async close(drainMs = DRAIN_MS): Promise<void> {
    const s = this.#server;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeIdleConnections();
    const deadline = Date.now() + drainMs;
    while (this.#inflight > 0 && Date.now() < deadline) {
      await sleep(20);
      s.closeIdleConnections();
    }
    s.closeAllConnections();
    await closed;
  }

  #useCertificate(table: PortTable): void {
    const d = table.defaultCertificate;
    if (table.protocol !== 'HTTPS' || d === null) return;
    const pem = `${d.cert}\0${d.key}`;
    if (pem === this.#defaultPem) return;
    (this.#server as ReturnType<typeof createHttps>).setSecureContext({
      ...TLS_POLICY,
      cert: d.cert,
      key: d.key,
    });
    this.#defaultPem = pem;
  }
}

function ignore(): void {}

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
