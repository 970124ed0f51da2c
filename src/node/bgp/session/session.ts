import { connect, type Socket } from 'node:net';
import {
  addressBytes,
  CEASE,
  CEASE_SUBCODE,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  familyOf,
  FSM,
  FSM_ERROR,
  type DecodedMessage,
  type DecodedUpdate,
  type Family,
} from '../message/index.ts';
import { retryDelay } from './backoff.ts';
import { systemClock, Timer, type Clock } from './clock.ts';
import { resolvePeerConfig, type PeerConfig, type ResolvedPeerConfig } from './config.ts';
import { Connection, type CloseReason, type ConnectionOrigin } from './connection.ts';
import { localCapabilities, negotiate, type Negotiated } from './negotiate.ts';

/** RFC 4271 §8.2.2 session states. */
export type SessionState = 'idle' | 'connect' | 'active' | 'open-sent' | 'open-confirm' | 'established';

/** Opens the TCP connection to a peer (plain, or with a TCP-MD5 key set before connect). */
export type Dialer = (c: ResolvedPeerConfig, signal: AbortSignal) => Promise<Socket>;

/** Why an Established session went down, and whether its routes are kept (RFC 4724 helper). */
export interface SessionDown extends CloseReason {
  /** The peer advertised graceful restart and the session ended without a NOTIFICATION. */
  readonly graceful: boolean;
  /** Seconds to keep the peer's routes when graceful. */
  readonly restartTime: number;
}

export interface SessionEvents {
  stateChanged?(from: SessionState, to: SessionState): void;
  established?(negotiated: Negotiated): void;
  update?(update: DecodedUpdate): void;
  routeRefresh?(family: Family): void;
  down?(down: SessionDown): void;
}

export interface SessionOptions {
  readonly clock?: Clock;
  readonly dialer?: Dialer;
  readonly random?: () => number;
  /** This speaker restarted with forwarding state kept: the first OPEN carries the R and F bits. */
  readonly restarting?: boolean;
}

/** Hold time while waiting for the peer's OPEN (RFC 4271 §8.2.2 suggests 4 minutes). */
const OPEN_HOLD_SECONDS = 240;
/** A session up this long is not counted as flapping when it drops. */
const STABLE_MS = 60_000;

export const plainDialer: Dialer = (c, signal) =>
  new Promise((resolve, reject) => {
    const s = connect({ host: c.peerAddress, port: c.port, localAddress: c.localAddress, signal });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });

/** The BGP finite state machine for one peer (RFC 4271 §8), with collision detection (§6.8). */
export class Session {
  readonly config: ResolvedPeerConfig;
  readonly #events: SessionEvents;
  readonly #clock: Clock;
  readonly #dialer: Dialer;
  readonly #random: () => number;
  readonly #retry: Timer;
  readonly #conns = new Set<Connection>();
  #state: SessionState = 'idle';
  #running = false;
  #failures = 0;
  #dial?: AbortController;
  #established?: Connection;
  #establishedAt = 0;
  #restarting: boolean;

  constructor(config: PeerConfig, events: SessionEvents = {}, options: SessionOptions = {}) {
    this.config = resolvePeerConfig(config);
    this.#events = events;
    this.#clock = options.clock ?? systemClock;
    this.#dialer = options.dialer ?? plainDialer;
    this.#random = options.random ?? Math.random;
    this.#restarting = options.restarting ?? false;
    this.#retry = new Timer(this.#clock, () => this.#retryExpired());
  }

  get state(): SessionState {
    return this.#state;
  }

  /** What the Established session agreed on. */
  get negotiated(): Negotiated | undefined {
    return this.#established?.negotiated;
  }

  /** This end's address on the Established connection. */
  get localAddress(): string | undefined {
    return this.#established?.socket.localAddress?.replace(/^::ffff:/, '');
  }

  /** Which side opened the Established connection. */
  get connectionOrigin(): ConnectionOrigin | undefined {
    return this.#established?.origin;
  }

  /** Consecutive sessions that failed before staying up (drives the back-off). */
  get failures(): number {
    return this.#failures;
  }

  /** ManualStart (or its passive form when configured passive). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#connectOrWait();
  }

  /**
   * ManualStop: a Cease/Administrative Shutdown NOTIFICATION, unless this speaker is about to
   * restart gracefully, in which case the connection is just closed so the peer keeps the routes.
   */
  stop(options: { graceful?: boolean; ceaseSubcode?: number } = {}): void {
    this.#running = false;
    this.#retry.stop();
    this.#dial?.abort();
    const subcode = options.ceaseSubcode ?? CEASE_SUBCODE.administrativeShutdown;
    for (const c of [...this.#conns])
      if (options.graceful) c.close({ kind: 'stopped', detail: 'graceful restart' });
      else c.notify(CEASE, subcode, undefined, { kind: 'stopped', code: CEASE, subcode });
    this.#setState('idle');
  }

  /** Sends encoded messages on the Established connection. */
  send(messages: readonly Buffer[]): void {
    const c = this.#established;
    if (c) for (const m of messages) c.send(m);
  }

  /** A connection the speaker accepted from this peer's address. */
  acceptIncoming(socket: Socket): void {
    if (!this.#running) {
      socket.destroy();
      return;
    }
    const current = this.#established;
    if (current) {
      // A peer that restarted gracefully reconnects while we still hold the old session
      // (RFC 4724 §4.2): the old one is gone. Otherwise the new connection loses (§6.8).
      if (current.negotiated?.peerGracefulRestart)
        current.close({ kind: 'connection-lost', detail: 'peer reconnected' });
      else {
        socket.end(encodeNotification(CEASE, CEASE_SUBCODE.connectionCollisionResolution));
        return;
      }
    }
    this.#adopt(socket, 'incoming');
  }

  #connectOrWait(): void {
    if (this.config.passive) {
      this.#setState('active');
      return;
    }
    this.#setState('connect');
    this.#retry.start(retryDelay(this.config.connectRetrySeconds * 1000, 0, Infinity, this.#random));
    const abort = new AbortController();
    this.#dial = abort;
    this.#dialer(this.config, abort.signal).then(
      (socket) => {
        // The signal stays tied to the socket (net.connect): aborting it later would destroy it.
        if (this.#dial === abort) this.#dial = undefined;
        if (abort.signal.aborted || !this.#running) socket.destroy();
        else this.#adopt(socket, 'outgoing');
      },
      () => {
        // Connect failed: wait in Active for the peer or the ConnectRetry timer.
        if (!abort.signal.aborted && this.#state === 'connect') this.#setState('active');
      },
    );
  }

  #retryExpired(): void {
    if (!this.#running || this.#conns.size > 0) return;
    this.#dial?.abort();
    this.#connectOrWait();
  }

  #adopt(socket: Socket, origin: ConnectionOrigin): void {
    const conn = new Connection(socket, origin, this.#clock, {
      message: (c, m) => this.#message(c, m),
      closed: (c) => this.#closed(c),
    });
    this.#conns.add(conn);
    this.#retry.stop();
    conn.send(
      encodeOpen({
        asn: this.config.localAs,
        holdTime: this.config.holdTime,
        routerId: this.config.routerId,
        capabilities: localCapabilities(this.config, this.#restarting),
      }),
    );
    conn.startHoldTimer(OPEN_HOLD_SECONDS);
    this.#refreshState();
  }

  #message(conn: Connection, m: DecodedMessage): void {
    switch (m.type) {
      case 'open': {
        if (conn.state !== 'open-sent') return this.#fsmError(conn);
        const neg = negotiate(this.config, m);
        if (!('holdTime' in neg)) return conn.notify(neg.code, neg.subcode, neg.data);
        conn.remoteOpen = m;
        conn.negotiated = neg;
        conn.ctx = { fourOctetAs: neg.fourOctetAs };
        if (this.#resolveCollision(conn) === conn) return;
        conn.state = 'open-confirm';
        conn.send(encodeKeepalive());
        conn.startHoldTimer(neg.holdTime);
        conn.startKeepalives(neg.keepaliveTime);
        return this.#refreshState();
      }
      case 'keepalive':
        if (conn.state === 'open-sent') return this.#fsmError(conn);
        if (conn.state === 'open-confirm') this.#establish(conn);
        return;
      case 'update':
        if (conn.state !== 'established') return this.#fsmError(conn);
        this.#events.update?.(m);
        return;
      case 'route-refresh': {
        if (conn.state !== 'established') return this.#fsmError(conn);
        const family = familyOf(m.afi, m.safi);
        if (family && conn.negotiated?.families.includes(family)) this.#events.routeRefresh?.(family);
        return;
      }
      case 'notification':
        conn.close({ kind: 'notification-received', code: m.code, subcode: m.subcode });
        return;
    }
  }

  #fsmError(conn: Connection): void {
    const sub =
      conn.state === 'open-sent'
        ? FSM.unexpectedInOpenSent
        : conn.state === 'open-confirm'
          ? FSM.unexpectedInOpenConfirm
          : FSM.unexpectedInEstablished;
    conn.notify(FSM_ERROR, sub);
  }

  /**
   * With two connections past OPEN, the one opened by the speaker with the lower BGP Identifier is
   * closed with Cease/Connection Collision Resolution (RFC 4271 §6.8). Returns the loser, if any.
   */
  #resolveCollision(conn: Connection): Connection | undefined {
    const other = [...this.#conns].find(
      (c) => c !== conn && (c.state === 'open-confirm' || c.state === 'established'),
    );
    if (!other) return undefined;
    let loser: Connection;
    if (other.state === 'established') loser = conn;
    else {
      const local = addressBytes(this.config.routerId).readUInt32BE(0);
      const remote = addressBytes(conn.remoteOpen!.routerId).readUInt32BE(0);
      const closeOrigin: ConnectionOrigin = local < remote ? 'outgoing' : 'incoming';
      loser = conn.origin === closeOrigin ? conn : other;
    }
    loser.notify(CEASE, CEASE_SUBCODE.connectionCollisionResolution, undefined, {
      kind: 'collision',
      code: CEASE,
      subcode: CEASE_SUBCODE.connectionCollisionResolution,
    });
    return loser;
  }

  #establish(conn: Connection): void {
    conn.state = 'established';
    this.#established = conn;
    this.#establishedAt = this.#clock.now();
    this.#restarting = false;
    for (const c of [...this.#conns])
      if (c !== conn)
        c.notify(CEASE, CEASE_SUBCODE.connectionCollisionResolution, undefined, { kind: 'collision' });
    this.#refreshState();
    this.#events.established?.(conn.negotiated!);
  }

  #closed(conn: Connection): void {
    this.#conns.delete(conn);
    const reason = conn.reason ?? { kind: 'connection-lost' };
    if (conn === this.#established) {
      this.#established = undefined;
      const gr = conn.negotiated?.peerGracefulRestart;
      if (this.#clock.now() - this.#establishedAt >= STABLE_MS) this.#failures = 0;
      this.#events.down?.({
        ...reason,
        graceful: gr !== undefined && reason.kind === 'connection-lost',
        restartTime: gr?.time ?? 0,
      });
    }
    if (reason.kind === 'collision' || this.#conns.size > 0) return this.#refreshState();
    if (!this.#running) return this.#setState('idle');
    // Back to Idle; the next attempt waits longer each time the peer fails again (damping).
    this.#failures++;
    this.#setState('idle');
    this.#retry.start(
      retryDelay(
        this.config.connectRetrySeconds * 1000,
        this.#failures,
        this.config.maxRetrySeconds * 1000,
        this.#random,
      ),
    );
  }

  #refreshState(): void {
    const states = [...this.#conns].map((c) => c.state);
    const next: SessionState | undefined = states.includes('established')
      ? 'established'
      : states.includes('open-confirm')
        ? 'open-confirm'
        : states.includes('open-sent')
          ? 'open-sent'
          : undefined;
    if (next) this.#setState(next);
  }

  #setState(next: SessionState): void {
    const prev = this.#state;
    if (prev === next) return;
    this.#state = next;
    this.#events.stateChanged?.(prev, next);
  }
}
