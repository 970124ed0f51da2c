import type { AddressInfo, Socket } from 'node:net';
import type { ServerHttp2Session } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer as createTLS, TLSSocket, type SecureContext, type Server as TLSServer } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientLimitsConfig, ClusterConfig } from '../config/model.ts';
import type { GatewayError } from '../errors.ts';
import { keepSentChain, SERVED_BY, socketConnection, type ClientConnection } from './connection.ts';
import { ConnectionGuard, type GuardCounts } from './connection-guard.ts';
import { ServedClusters, type ListenerTLS, type ServedBy } from './served-clusters.ts';
import { watchPrematureResets } from './premature-resets.ts';
import type { Gateway } from './context.ts';
import type { ClientExchange } from './exchange.ts';
import { ProxiedRequest } from './forward.ts';
import { TLS_POLICY } from './tls-policy.ts';
import { ProtocolServers, stopProtocolServers, type ProtocolHandlers } from './protocol-servers.ts';
import { tunnelUpgrade } from './upgrade.ts';

export interface ListenerOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  /** CAs that sign client certificates; certificates are requested, never required. */
  clientCA: string | undefined;
  /** The cluster this listener serves without SNI or for a server name no cluster lists. */
  cluster: string;
  /** Every configured cluster: those with `hosts` are served by SNI (see ServedClusters). */
  clusters: readonly ClusterConfig[];
  /** A cluster whose serving certificate Node refuses (it then gets the listener's). */
  onContextError?: (cluster: string, err: Error) => void;
  /** Per-client bounds; `setLimits` changes them for new connections. */
  limits: ClientLimitsConfig;
  /** SO_REUSEPORT: worker threads each listen on the same port and the kernel spreads connections. */
  reusePort?: boolean;
}

/**
 * Terminates TLS and hands each connection by ALPN to an HTTP/2 or an HTTP/1.1 server, so that
 * HTTP/1.1 upgrades (SPDY, WebSocket) stay in the plain HTTP/1 server.
 */
export class Listener {
  readonly #tls: TLSServer;
  /** The protocol servers new connections go to; `#older` keep serving the connections they have. */
  #servers: ProtocolServers;
  readonly #older = new Set<ProtocolServers>();
  readonly #handlers: ProtocolHandlers;
  readonly #guard: ConnectionGuard;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #opts: ListenerOptions;
  /** Short (not long-running) requests in flight: graceful shutdown waits for these only. */
  #short = 0;
  readonly #shortDone = () => this.#short--;
  /** Long-running requests in flight: graceful shutdown ends them in batches after the drain. */
  readonly #long = new Set<ProxiedRequest>();

  /** The clusters by SNI and the Host check, swapped whole on reload. */
  #served: ServedClusters;
  #clusters: readonly ClusterConfig[];
  #own: ListenerTLS;

  constructor(gw: Gateway, opts: ListenerOptions) {
    this.#opts = opts;
    this.#clusters = opts.clusters;
    this.#own = { cert: opts.cert, key: opts.key, clientCA: opts.clientCA };
    this.#served = new ServedClusters(opts.clusters, opts.cluster, this.#own, undefined, opts.onContextError);
    this.#handlers = {
      request: (x: ClientExchange) => {
        const c = x.connection;
        const cluster = c.cluster ?? opts.cluster;
        const p = new ProxiedRequest(gw, cluster, x, this.#hostRefusal(c, cluster, x.headers));
        if (!p.longRunning) {
          this.#short++;
          x.onClose(this.#shortDone);
        } else {
          this.#long.add(p);
          x.onClose(() => this.#long.delete(p));
        }
        p.run();
      },
      upgrade: (req, socket, head) => {
        const c = socketConnection(req.socket);
        const cluster = c.cluster ?? opts.cluster;
        void tunnelUpgrade(gw, cluster, req, socket, head, this.#hostRefusal(c, cluster, req.headers));
      },
      session: (s) => {
        watchPrematureResets(s, this.#servers.limits.prematureResets, () =>
          this.#guard.rapidResetFrom(s.socket?.remoteAddress ?? ''),
        );
        this.#sessions.add(s);
        s.once('close', () => this.#sessions.delete(s));
      },
    };
    this.#servers = new ProtocolServers(opts.limits, this.#handlers);
    this.#guard = new ConnectionGuard(() => this.#servers.limits, gw.connectionsByIP, gw.penalizedIPs);
    const served = () => this.#served;
    this.#tls = createTLS({
      ...TLS_POLICY,
      cert: opts.cert,
      key: opts.key,
      ca: opts.clientCA,
      // Always asked for: a cluster chosen by SNI may have a client CA when the listener has none.
      // Where the chosen cluster has none, a presented certificate is ignored (ServedBy.clientCerts).
      requestCert: true,
      // Clients without a certificate (bearer tokens) are let through; authentication decides.
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
      // Once per handshake that sends a server name: the cluster's certificate and client CA. Node
      // calls it on the TLS socket; the decision is kept there, so the connection serves the cluster
      // whose CA verified its certificate even if a reload changes the table meanwhile.
      SNICallback(this: unknown, name: string, cb: (err: Error | null, ctx?: SecureContext) => void) {
        const s = served().forServerName(name);
        if (this instanceof TLSSocket) {
          (this as TLSSocket & { [SERVED_BY]?: ServedBy })[SERVED_BY] = s.by;
          // Without a server name there is no such hook: a front proxy that sends none can only be
          // recognised by a certificate the front-proxy CA issued directly (docs/clustergateway.md).
          if (s.by.clientCerts) this.prependOnceListener('secure', keepSentChain);
        }
        cb(null, s.context ?? undefined);
      },
    });
    this.#tls.on('connection', (raw: Socket) => this.#guard.admit(raw));
    this.#tls.on('secureConnection', (socket: TLSSocket) => {
      this.#guard.handshaken((socket as TLSSocket & { _parent?: Socket })._parent);
      const marked = socket as TLSSocket & { [SERVED_BY]?: ServedBy };
      // No server name (or a Node that called SNICallback otherwise): the name it sent, decided now.
      if (marked[SERVED_BY] === undefined)
        marked[SERVED_BY] = socket.servername
          ? served().forServerName(socket.servername).by
          : served().defaultBy;
      const servers = this.#servers;
      this.#sockets.add(socket);
      servers.connections++;
      socket.once('close', () => {
        this.#sockets.delete(socket);
        if (--servers.connections === 0 && servers !== this.#servers && this.#older.delete(servers))
          stopProtocolServers(servers);
      });
      if (socket.alpnProtocol === 'h2') servers.h2.emit('connection', socket);
      else servers.h1.emit('connection', socket);
    });
    this.#tls.on('tlsClientError', () => {}); // a failed handshake concerns that client only
  }

  /** New client limits, for connections accepted from now on. */
  setLimits(limits: ClientLimitsConfig): void {
    if (JSON.stringify(limits) === JSON.stringify(this.#servers.limits)) return;
    if (this.#servers.connections > 0) this.#older.add(this.#servers);
    else stopProtocolServers(this.#servers);
    this.#servers = new ProtocolServers(limits, this.#handlers);
  }

  /** Connections refused before HTTP: over the per-address cap, or a handshake too slow. */
  get refused(): Readonly<GuardCounts> {
    return this.#guard.counts;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#tls.once('error', reject);
      const { port, host, reusePort } = this.#opts;
      this.#tls.listen({ port, host, reusePort }, () => resolve(this.#tls.address() as AddressInfo));
    });
  }

  /** Replaces the serving certificate and client CA for new connections (rotation without restart). */
  setCertificates(cert: string, key: string, clientCA: string | undefined): void {
    // Every reload passes them; building a context from unchanged PEM only costs the reload time.
    const own = this.#own;
    if (own.cert === cert && own.key === key && own.clientCA === clientCA) return;
    this.#tls.setSecureContext({ ...TLS_POLICY, cert, key, ca: clientCA });
    this.#own = { cert, key, clientCA };
    this.#served = new ServedClusters(
      this.#clusters,
      this.#opts.cluster,
      this.#own,
      this.#served,
      this.#opts.onContextError,
    );
  }

  /**
   * The clusters served by SNI, for new connections: open connections keep the cluster their
   * handshake chose, and their requests are Host-checked against the new names.
   */
  setClusters(clusters: readonly ClusterConfig[]): void {
    this.#clusters = clusters;
    this.#served = new ServedClusters(
      clusters,
      this.#opts.cluster,
      this.#own,
      this.#served,
      this.#opts.onContextError,
    );
  }

  /** The 421 a request gets when its Host names another cluster than its connection's; null if none. */
  #hostRefusal(c: ClientConnection, cluster: string, headers: IncomingHttpHeaders): GatewayError | null {
    const served = this.#served;
    if (c.unknownServerName !== undefined) return served.refusal(cluster, undefined, c.unknownServerName);
    const authority = headers[':authority'] as string | undefined;
    const host = headers.host;
    // HTTP/2 may carry both (they must agree, RFC 9113 §8.3.1); each is checked.
    if (authority !== undefined && host !== undefined)
      return served.refusal(cluster, authority) ?? served.refusal(cluster, host);
    const h = authority ?? host;
    if (h === undefined) return null;
    // A connection mostly repeats one Host: checked once per connection and table, not per request.
    const memo = c.hostChecked;
    if (memo !== undefined && memo.host === h && memo.against === served) return null;
    const refusal = served.refusal(cluster, h);
    if (refusal === null) c.hostChecked = { host: h, against: served };
    return refusal;
  }

  /** Client connections open, for tests and metrics. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Client connections open by ALPN protocol, for metrics. */
  connectionsByProtocol(): { h2: number; 'http/1.1': number } {
    let h2 = 0;
    for (const s of this.#sockets) if ((s as TLSSocket).alpnProtocol === 'h2') h2++;
    return { h2, 'http/1.1': this.#sockets.size - h2 };
  }

  /**
   * Graceful stop: no new connections, GOAWAY to HTTP/2 clients, idle HTTP/1 connections closed,
   * in-flight short requests given up to `drainMs` to finish, then the long-running requests ended
   * in small jittered batches so their clients do not all reconnect at once: watches cleanly (a cut
   * body stops some clients for good, see ProxiedRequest.shutdown), logs -f cut; then the
   * connections left (upgrade tunnels: exec, attach, port-forward) closed in batches too.
   */
  async close(drainMs = 10_000): Promise<void> {
    this.#tls.close();
    for (const s of this.#sessions) s.close();
    const all = [this.#servers, ...this.#older];
    for (const p of all) p.h1.closeIdleConnections();
    const deadline = Date.now() + drainMs;
    while (this.#short > 0 && Date.now() < deadline) await sleep(20);
    const long = [...this.#long];
    for (let i = 0; i < long.length; i += 50) {
      for (const p of long.slice(i, i + 50)) p.shutdown();
      await sleep(10 + Math.random() * 40);
    }
    for (const p of all) p.h1.closeIdleConnections();
    const rest = [...this.#sockets];
    for (let i = 0; i < rest.length; i += 50) {
      for (const s of rest.slice(i, i + 50)) s.destroy();
      await sleep(10 + Math.random() * 40);
    }
    for (const p of all) stopProtocolServers(p);
    this.#older.clear();
  }
}
