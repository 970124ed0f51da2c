import type { Socket } from 'node:net';
import { KeyedCap, PenaltyBox, type KeyedLimit, type Penalties } from '../policy/index.ts';

/** What the guard refused, for metrics. */
export interface GuardCounts {
  /** Connections closed because their address already had the most allowed. */
  perIPLimit: number;
  /** Connections closed because their TLS handshake did not finish in time. */
  handshakeTimeout: number;
  /** HTTP/2 sessions closed for resetting too many streams before their answer (rapid reset). */
  rapidReset: number;
  /** Connections closed because their address was closed for rapid reset within `penaltyMs`. */
  rapidResetPenalty: number;
}

interface GuardLimits {
  maxConnectionsPerClientIP: number;
  handshakeTimeoutMs: number;
  prematureResets: { penaltyMs: number };
}

/**
 * Bounds on raw client connections, before TLS: at most `maxPerIP` open from one address, and a
 * handshake that must finish within `handshakeTimeoutMs` (slowloris before the first byte of
 * HTTP). Limits are read per connection, so a reload applies to the next one. The per-address
 * count is `perIP` and the rapid-reset penalties `penalties` when given (the gateway's, shared by
 * its listeners and worker threads), else the guard's own.
 */
export class ConnectionGuard {
  readonly #perIP: KeyedLimit;
  readonly #limits: () => GuardLimits;
  /** Addresses whose connections are refused for a while (rapid reset). */
  readonly #penalties: Penalties;
  readonly counts: GuardCounts = { perIPLimit: 0, handshakeTimeout: 0, rapidReset: 0, rapidResetPenalty: 0 };

  constructor(limits: () => GuardLimits, perIP?: KeyedLimit, penalties?: Penalties) {
    this.#limits = limits;
    this.#perIP = perIP ?? new KeyedCap(() => this.#limits().maxConnectionsPerClientIP);
    this.#penalties = penalties ?? new PenaltyBox();
  }

  /** Called for each accepted TCP connection; false when it was closed at once. */
  admit(socket: Socket): boolean {
    const ip = socket.remoteAddress ?? '';
    if (this.#penalties.penalized(ip)) {
      this.counts.rapidResetPenalty++;
      socket.destroy();
      return false;
    }
    const permit = this.#perIP.tryAcquire(ip);
    if (permit === null) {
      this.counts.perIPLimit++;
      socket.destroy();
      return false;
    }
    const l = this.#limits();
    const timer = setTimeout(() => {
      this.counts.handshakeTimeout++;
      socket.destroy();
    }, l.handshakeTimeoutMs);
    timer.unref();
    // The TLS layer marks the raw socket once the handshake is done; see `handshaken`.
    (socket as GuardedSocket)[HANDSHAKE_TIMER] = timer;
    socket.once('close', () => {
      clearTimeout(timer);
      permit.release();
    });
    return true;
  }

  /**
   * An HTTP/2 session from `ip` was closed for rapid reset: its address's new connections are
   * refused for `prematureResets.penaltyMs`, so reconnecting does not buy a fresh budget.
   */
  rapidResetFrom(ip: string): void {
    this.counts.rapidReset++;
    const ms = this.#limits().prematureResets.penaltyMs;
    if (ms <= 0 || ip === '') return;
    this.#penalties.penalize(ip, ms);
  }

  /** The TLS handshake on `raw` finished: its timer stops. */
  handshaken(raw: Socket | undefined): void {
    const t = raw === undefined ? undefined : (raw as GuardedSocket)[HANDSHAKE_TIMER];
    if (t !== undefined) clearTimeout(t);
  }

  /** Connections open from `ip` (tests, diagnostics). */
  openFrom(ip: string): number {
    return this.#perIP.held(ip);
  }
}

const HANDSHAKE_TIMER = Symbol('kubegate.handshakeTimer');
type GuardedSocket = Socket & { [HANDSHAKE_TIMER]?: NodeJS.Timeout };
