import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { StreamEndpoint, StreamTable } from './stream-table.ts';

export interface UdpPortOptions {
  readonly log: Logger;
  /** A client address silent this long loses its session (and its backend socket). */
  readonly idleMs?: number;
  /** Sessions beyond this many evict the least recently active one. */
  readonly maxSessions?: number;
}

const IDLE_MS = 30_000;
const MAX_SESSIONS = 4096;

/** One client address: the backend it was given and the socket that talks to it. */
class UdpSession {
  readonly endpoint: StreamEndpoint;
  readonly upstream: Socket;
  lastActive = Date.now();

  constructor(endpoint: StreamEndpoint, onReply: (msg: Buffer) => void) {
    this.endpoint = endpoint;
    this.upstream = createSocket(isIPv6(endpoint.address) ? 'udp6' : 'udp4');
    this.upstream.on('message', (msg, from) => {
      // Only the backend's own answers go back to the client.
      if (from.port !== endpoint.port || from.address !== endpoint.address) return;
      this.lastActive = Date.now();
      onReply(msg);
    });
    this.upstream.on('error', () => {}); // ICMP unreachable and the like: the datagram is lost, as UDP goes
  }

  send(msg: Buffer): void {
    this.lastActive = Date.now();
    this.upstream.send(msg, this.endpoint.port, this.endpoint.address);
  }

  close(): void {
    this.upstream.close();
  }
}

/**
 * One bound (address, port) of a Gateway for a UDP listener. Each client address (IP and port) is
 * a session: its first datagram picks a backend endpoint by the route's weights, and the session's
 * own socket carries its datagrams there and the answers back, until it is idle for `idleMs`.
 * Datagrams nothing routes are dropped.
 */
export class UdpPortServer {
  table: StreamTable;
  readonly #socket: Socket;
  readonly #log: Logger;
  readonly #idleMs: number;
  readonly #maxSessions: number;
  /** By `address|port` of the client, least recently created first. */
  readonly #sessions = new Map<string, UdpSession>();
  #sweeper: NodeJS.Timeout | null = null;

  constructor(table: StreamTable, opts: UdpPortOptions) {
    this.table = table;
    this.#log = opts.log;
    this.#idleMs = opts.idleMs ?? IDLE_MS;
    this.#maxSessions = opts.maxSessions ?? MAX_SESSIONS;
    this.#socket = createSocket(isIPv6(table.address) ? 'udp6' : 'udp4');
    this.#socket.on('message', (msg, from) => this.#receive(msg, from));
  }

  get protocol(): StreamTable['protocol'] {
    return this.table.protocol;
  }

  listen(): Promise<void> {
    const t = this.table;
    return new Promise((resolve, reject) => {
      const s = this.#socket;
      s.once('error', reject);
      s.bind({ port: t.port, address: t.address === '' ? undefined : t.address }, () => {
        s.off('error', reject);
        s.on('error', (err) => this.#log.warn({ err: err.message }, 'gatewayapi: UDP socket error'));
        this.#sweeper = setInterval(() => this.#sweep(), Math.max(50, Math.floor(this.#idleMs / 4)));
        this.#sweeper.unref();
        resolve();
      });
    });
  }

  get boundPort(): number {
    return this.#socket.address().port;
  }

  /** Sessions now open (tests). */
  get sessions(): number {
    return this.#sessions.size;
  }

  setTable(table: StreamTable): void {
    this.table = table;
  }

  /** UDP has nothing to drain: the socket and every session close at once. */
  async close(_drainMs?: number): Promise<void> {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #receive(msg: Buffer, from: RemoteInfo): void {
    const key = `${from.address}|${from.port}`;
    let session = this.#sessions.get(key);
    if (session === undefined) {
      const endpoint = this.table.target?.pick() ?? null;
      if (endpoint === null) return;
      if (this.#sessions.size >= this.#maxSessions) this.#evictOldest();
      session = new UdpSession(endpoint, (reply) => this.#socket.send(reply, from.port, from.address));
      this.#sessions.set(key, session);
    }
    session.send(msg);
  }

  #evictOldest(): void {
    let oldestKey: string | null = null;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [k, s] of this.#sessions)
      if (s.lastActive < oldest) {
        oldest = s.lastActive;
        oldestKey = k;
      }
    if (oldestKey === null) return;
    this.#sessions.get(oldestKey)?.close();
    this.#sessions.delete(oldestKey);
  }

  #sweep(): void {
    const before = Date.now() - this.#idleMs;
    for (const [k, s] of this.#sessions)
      if (s.lastActive < before) {
        s.close();
        this.#sessions.delete(k);
      }
  }
}
