import type { AddressInfo, Socket } from 'node:net';
import type { ServerHttp2Session } from 'node:http2';
import { createServer as createTLS, type Server as TLSServer, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientLimitsConfig } from '../config/model.ts';
import { ConnectionGuard, type GuardCounts } from './connection-guard.ts';
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
  /** The cluster this listener serves. */
  cluster: string;
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

  constructor(gw: Gateway, opts: ListenerOptions) {
    this.#opts = opts;
    const cluster = opts.cluster;
    this.#handlers = {
      request: (x: ClientExchange) => {
        const p = new ProxiedRequest(gw, cluster, x);
        if (!p.longRunning) {
          this.#short++;
          x.onClose(this.#shortDone);
        } else {
          this.#long.add(p);
          x.onClose(() => this.#long.delete(p));
        }
        void p.run();
      },
      upgrade: (req, socket, head) => void tunnelUpgrade(gw, cluster, req, socket, head),
      session: (s) => {
        watchPrematureResets(s, this.#servers.limits.prematureResets, () =>
          this.#guard.rapidResetFrom(s.socket?.remoteAddress ?? ''),
        );
        this.#sessions.add(s);
        s.once('close', () => this.#sessions.delete(s));
      },
    };
    this.#servers = new ProtocolServers(opts.limits, this.#handlers);
    this.#guard = new ConnectionGuard(() => this.#servers.limits, gw.connectionsByIP);
    this.#tls = createTLS({
      ...TLS_POLICY,
      cert: opts.cert,
      key: opts.key,
      ca: opts.clientCA,
      requestCert: opts.clientCA !== undefined,
      // Clients without a certificate (bearer tokens) are let through; authentication decides.
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    this.#tls.on('connection', (raw: Socket) => this.#guard.admit(raw));
    this.#tls.on('secureConnection', (socket: TLSSocket) => {
      this.#guard.handshaken((socket as TLSSocket & { _parent?: Socket })._parent);
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
    this.#tls.setSecureContext({ ...TLS_POLICY, cert, key, ca: clientCA });
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
