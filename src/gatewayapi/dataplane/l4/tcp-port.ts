import { connect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { upstreamTLSOptions } from '../upstream-tls.ts';
import { HELLO_DEFAULTS, readClientHello, type HelloOptions } from './read-hello.ts';
import type { StreamEndpoint, StreamTable, StreamTarget } from './stream-table.ts';

/** How long a removed socket's connections may go on before they are cut. */
const DRAIN_MS = 10_000;
/** A backend that does not accept within this time counts as down for the connection. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface TcpPortOptions {
  readonly log: Logger;
  readonly hello?: HelloOptions;
}

/**
 * One bound (address, port) of a Gateway for TLS or TCP listeners. TCP: each connection goes to the
 * route's backend, bytes piped both ways. TLS: the ClientHello's SNI picks the listener and route
 * before anything is answered; Passthrough replays the hello to the backend and pipes the rest
 * untouched, Terminate hands the bytes to a local TLS server with the listener's certificate and
 * pipes the plaintext. A connection nothing routes (no SNI, no matching hostname, no valid backend
 * or endpoint) is closed. The table is swapped in one assignment; a connection keeps its backend.
 */
export class TcpPortServer {
  table: StreamTable;
  readonly #server: Server;
  readonly #log: Logger;
  readonly #hello: HelloOptions;
  readonly #connections = new Set<Duplex>();

  constructor(table: StreamTable, opts: TcpPortOptions) {
    this.table = table;
    this.#log = opts.log;
    this.#hello = opts.hello ?? HELLO_DEFAULTS;
    // Half-open both ways: a client's FIN reaches the backend and the answer still flows back.
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
      this.#accept(socket),
    );
  }

  get protocol(): StreamTable['protocol'] {
    return this.table.protocol;
  }

  listen(): Promise<void> {
    const t = this.table;
    return new Promise((resolve, reject) => {
      const s = this.#server;
      s.once('error', reject);
      s.listen({ port: t.port, host: t.address === '' ? undefined : t.address }, () => {
        s.off('error', reject);
        s.on('error', (err) => this.#log.warn({ err: err.message }, 'gatewayapi: stream socket error'));
        resolve();
      });
    });
  }

  /** The port the socket is bound to (tests bind port 0). */
  get boundPort(): number {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  setTable(table: StreamTable): void {
    this.table = table;
  }

  /** Stops accepting; connections may go on for `drainMs`, then they are cut. */
  async close(drainMs = DRAIN_MS): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const deadline = Date.now() + drainMs;
    while (this.#connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const c of this.#connections) c.destroy();
    await closed;
  }

  #track(s: Duplex): void {
    this.#connections.add(s);
    s.once('close', () => this.#connections.delete(s));
  }

  #accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    this.#track(socket);
    const table = this.table;
    if (table.protocol !== 'TLS') {
      const target = table.target;
      if (target === null) socket.destroy();
      else this.#forward(socket, target, null);
      return;
    }
    socket.resume();
    readClientHello(socket, this.#hello).then(
      ({ serverName, head }) => {
        const routed = this.table.route(serverName);
        if (routed === null) {
          socket.destroy();
          return;
        }
        if (routed.listener.terminate === null) {
          this.#forward(socket, routed.target, head);
          return;
        }
        // Give the hello back to the socket: the TLS server reads it first.
        socket.unshift(head);
        // The context was built under the gateway's TLS policy (tls-contexts.ts).
        const tls = new TLSSocket(socket, { isServer: true, secureContext: routed.listener.terminate });
        tls.on('error', () => {
          tls.destroy();
          socket.destroy();
        });
        tls.setTimeout(this.#hello.timeoutMs, () => tls.destroy());
        tls.once('secure', () => {
          tls.setTimeout(0);
          this.#forward(tls, routed.target, null);
        });
      },
      () => socket.destroy(),
    );
  }

  /** Connects to the target's backend and pipes both ways; `head` goes first. */
  #forward(client: Duplex, target: StreamTarget, head: Buffer | null): void {
    const endpoint = target.pick();
    if (endpoint === null) {
      client.destroy();
      return;
    }
    let upstream: Socket;
    try {
      upstream = dial(endpoint);
    } catch (err) {
      this.#log.debug(
        { route: target.route, endpoint, err: (err as Error).message },
        'gatewayapi: stream backend refused',
      );
      client.destroy();
      return;
    }
    this.#track(upstream);
    let connected = false;
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', (err) => {
      if (!connected)
        this.#log.debug(
          { route: target.route, endpoint, err: err.message },
          'gatewayapi: stream backend refused',
        );
      cut();
    });
    client.on('error', cut);
    // Over TLS the bytes flow once the backend's certificate has been verified.
    upstream.once(endpoint.tls === undefined ? 'connect' : 'secureConnect', () => {
      connected = true;
      upstream.setTimeout(0);
      upstream.setNoDelay(true);
      if (head !== null) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.setTimeout(CONNECT_TIMEOUT_MS, cut);
    // Both directions ended (or one side went away): nothing more can flow.
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => {
      if (!client.writableEnded) client.end();
      if (!connected) client.destroy();
    });
  }
}

/** A TCP connection, or TLS as the endpoint's BackendTLSPolicy says (throws when it allows none). */
function dial(e: StreamEndpoint): Socket {
  if (e.tls === undefined) return connect({ host: e.address, port: e.port, allowHalfOpen: true });
  return tlsConnect({ host: e.address, port: e.port, ...upstreamTLSOptions(e.tls) });
}
