import type { Socket } from 'node:net';
import {
  BgpMessageError,
  decodeMessage,
  encodeKeepalive,
  encodeNotification,
  MessageReader,
  notificationName,
  type DecodeContext,
  type DecodedMessage,
  type OpenMessage,
} from '../message/index.ts';
import { Timer, type Clock } from './clock.ts';
import type { Negotiated } from './negotiate.ts';

/** Which side opened the TCP connection; collision resolution (RFC 4271 §6.8) closes one of two. */
export type ConnectionOrigin = 'outgoing' | 'incoming';

export type ConnectionState = 'open-sent' | 'open-confirm' | 'established' | 'closed';

/** Why a connection closed. */
export interface CloseReason {
  readonly kind:
    | 'notification-sent'
    | 'notification-received'
    | 'hold-timer-expired'
    | 'connection-lost'
    | 'stopped'
    | 'collision';
  readonly code?: number;
  readonly subcode?: number;
  readonly detail?: string;
}

export interface ConnectionEvents {
  message(conn: Connection, message: DecodedMessage): void;
  /** The connection is closed; `conn.reason` says why. */
  closed(conn: Connection): void;
}

/** One TCP connection to a peer: framing, its hold and keepalive timers, and its place in the FSM. */
export class Connection {
  readonly origin: ConnectionOrigin;
  readonly socket: Socket;
  state: ConnectionState = 'open-sent';
  remoteOpen?: OpenMessage;
  negotiated?: Negotiated;
  ctx: DecodeContext = { fourOctetAs: false };
  readonly #reader = new MessageReader();
  readonly #events: ConnectionEvents;
  readonly #hold: Timer;
  readonly #keepalive: Timer;
  #keepaliveMs = 0;
  #holdMs = 0;

  constructor(socket: Socket, origin: ConnectionOrigin, clock: Clock, events: ConnectionEvents) {
    this.socket = socket;
    this.origin = origin;
    this.#events = events;
    this.#hold = new Timer(clock, () => {
      if (this.state === 'closed') return;
      this.notify(4, 0, undefined, { kind: 'hold-timer-expired', code: 4, subcode: 0 });
    });
    this.#keepalive = new Timer(clock, () => {
      this.send(encodeKeepalive());
      this.#keepalive.start(this.#keepaliveMs);
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (err) => this.#closed(err));
    socket.on('close', () => this.#closed());
  }

  get remoteAddress(): string {
    return (this.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  }

  send(buf: Buffer): void {
    if (this.state !== 'closed' && !this.socket.destroyed) this.socket.write(buf);
  }

  /** (Re)starts the hold timer; 0 turns it off. */
  startHoldTimer(seconds: number): void {
    this.#holdMs = seconds * 1000;
    if (this.#holdMs > 0) this.#hold.start(this.#holdMs);
    else this.#hold.stop();
  }

  startKeepalives(seconds: number): void {
    this.#keepaliveMs = seconds * 1000;
    if (this.#keepaliveMs > 0) this.#keepalive.start(this.#keepaliveMs);
  }

  /** Why the connection closed, once it has. */
  reason?: CloseReason;

  /** Sends a NOTIFICATION and closes the connection once it is written. */
  notify(code: number, subcode: number, data?: Buffer, reason?: CloseReason): void {
    if (this.state === 'closed') return;
    this.send(encodeNotification(code, subcode, data));
    this.close(
      reason ?? { kind: 'notification-sent', code, subcode, detail: notificationName(code, subcode) },
      true,
    );
  }

  /** Closes the connection: `flush` lets queued writes (a NOTIFICATION) go out first. */
  close(reason: CloseReason, flush = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.reason = reason;
    this.#hold.stop();
    this.#keepalive.stop();
    if (flush) {
      this.socket.end();
      // A peer that never reads must not keep the socket: give the NOTIFICATION a moment.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else this.socket.destroy();
    this.#events.closed(this);
  }

  #receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    const frames = this.#reader.push(chunk);
    if (frames instanceof BgpMessageError) return this.#malformed(frames);
    for (const f of frames) {
      if ((this.state as ConnectionState) === 'closed') return;
      const m = decodeMessage(f, this.ctx);
      if (m instanceof BgpMessageError) return this.#malformed(m);
      // Any message restarts the hold timer once the session is past OPEN (RFC 4271 §8.2.2).
      if (this.#holdMs > 0 && this.state !== 'open-sent') this.#hold.start(this.#holdMs);
      this.#events.message(this, m);
    }
  }

  #malformed(err: BgpMessageError): void {
    this.notify(err.code, err.subcode, err.data, {
      kind: 'notification-sent',
      code: err.code,
      subcode: err.subcode,
      detail: err.message,
    });
  }

  #closed(err?: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.reason = { kind: 'connection-lost', detail: err?.message };
    this.#hold.stop();
    this.#keepalive.stop();
    this.socket.destroy();
    this.#events.closed(this);
  }
}
