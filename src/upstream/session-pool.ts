import { connect, type ClientHttp2Session } from 'node:http2';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';

/** How the gateway reaches an upstream: server CA and the gateway's own client credential. */
export interface UpstreamTLS {
  ca: string;
  cert?: string;
  key?: string;
  /** Bearer token for the upstream, when not using a client certificate. */
  token?: string;
  /** TLS server name to verify, when it differs from the URL host. */
  servername?: string;
  /** No verification of the server's certificate: only by a cluster's explicit, logged opt-in. */
  insecure?: boolean;
  /** Replaces the check of the server's name (a BackendTLSPolicy's subjectAltNames). */
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

interface Session {
  readonly h2: ClientHttp2Session;
  streams: number;
  /** Of `streams`, those of short requests (not watches, logs -f…). */
  short: number;
  settings: boolean;
  connected: Promise<void>;
}

const DEFAULT_MAX_STREAMS = 100;
/** Sessions per endpoint (per worker) at most; see `acquire`. */
export const DEFAULT_MAX_SESSIONS = 2;
const BACKOFF_MS = [0, 100, 250, 500, 1000, 2000];
/** TCP, TLS and the server's SETTINGS frame, at most this long. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * The HTTP/2 sessions to one endpoint. A new session is opened only when every open one is at the
 * server's advertised `SETTINGS_MAX_CONCURRENT_STREAMS`, and never more than `maxSessions`, so
 * thousands of clients share one or two connections. Sessions are kept alive with PINGs; a session
 * that fails a PING, or does not acknowledge one within a ping interval, is dropped.
 */
export class SessionPool {
  readonly #url: URL;
  readonly #tls: UpstreamTLS;
  readonly #pingIntervalMs: number;
  readonly #maxSessions: number;
  readonly #sessions: Session[] = [];
  #failures = 0;
  #nextAttempt = 0;
  #closed = false;
  /** Sessions opened since start (for metrics and tests). */
  opened = 0;

  constructor(url: URL, tls: UpstreamTLS, opts: { pingIntervalMs: number; maxSessions?: number }) {
    this.#url = url;
    this.#tls = tls;
    this.#pingIntervalMs = opts.pingIntervalMs;
    this.#maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

  /** Open sessions, for metrics and tests. */
  get size(): number {
    return this.#sessions.length;
  }

  /**
   * `acquire` without waiting: a slot on a session that is ready and has room, else null (then
   * `acquire` opens, waits or refuses). The request path's form: no promise per request.
   */
  tryAcquire(longRunning = false): ClientHttp2Session | null {
    if (this.#closed) return null;
    const sessions = this.#sessions;
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i];
      if (!s.settings || s.streams >= maxStreams(s)) continue;
      s.streams++;
      if (!longRunning) s.short++;
      return s.h2;
    }
    return null;
  }

  /**
   * Reserves one stream slot on a connected session. Rejects (without consuming anything) when the
   * endpoint cannot be reached; the caller may then try another endpoint.
   */
  async acquire(longRunning = false): Promise<ClientHttp2Session> {
    if (this.#closed) throw new Error('session pool closed');
    let s = this.#sessions.find((x) => x.streams < maxStreams(x));
    // Every session full and no room for another: a short request takes a stream on the session
    // with the most short requests in flight anyway, and nghttp2 holds it back until one of them
    // ends (soon). Long-running requests (watches) never wait so: they may hold their streams for
    // hours, so they, and short requests on sessions full of them, get a new session.
    if (!s && !longRunning && this.#sessions.length >= this.#maxSessions) s = mostShort(this.#sessions);
    if (!s) {
      const wait = this.#nextAttempt - Date.now();
      if (wait > 0)
        throw Object.assign(new Error(`reconnect backoff (${wait} ms left)`), { code: 'EBACKOFF' });
      s = this.#open();
    }
    s.streams++;
    if (!longRunning) s.short++;
    try {
      await s.connected;
    } catch (err) {
      s.streams--;
      if (!longRunning) s.short--;
      throw err;
    }
    return s.h2;
  }

  /** Returns the slot taken by `acquire()`, with the same `longRunning`. */
  release(h2: ClientHttp2Session, longRunning = false): void {
    const sessions = this.#sessions;
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i];
      if (s.h2 !== h2) continue;
      s.streams--;
      if (!longRunning) s.short--;
      return;
    }
  }

  #open(): Session {
    const { ca, cert, key, servername, insecure, checkServerIdentity } = this.#tls;
    const h2 = connect(this.#url.origin, {
      // The same floor as towards clients (src/proxy/tls-policy.ts), less the server-only options.
      minVersion: 'TLSv1.2',
      ca: insecure ? undefined : ca,
      rejectUnauthorized: insecure !== true,
      cert,
      key,
      servername:
        servername ??
        (isIP(this.#url.hostname.replace(/^\[|\]$/g, '')) !== 0 ? undefined : this.#url.hostname),
      settings: { enablePush: false },
      ...(checkServerIdentity === undefined ? {} : { checkServerIdentity }),
    });
    this.opened++;
    const s: Session = {
      h2,
      streams: 0,
      short: 0,
      settings: false,
      // Ready once the server's SETTINGS are in, not at 'connect': a request submitted before
      // nghttp2 knows SETTINGS_MAX_CONCURRENT_STREAMS goes out at once and may be refused, one
      // submitted after it waits in nghttp2 for a free stream.
      connected: new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            h2.destroy(
              new Error(`no HTTP/2 SETTINGS from ${this.#url.host} within ${CONNECT_TIMEOUT_MS} ms`),
            ),
          CONNECT_TIMEOUT_MS,
        );
        h2.once('remoteSettings', () => {
          clearTimeout(timer);
          this.#failures = 0;
          resolve();
        });
        h2.once('error', (err) => {
          clearTimeout(timer);
          // Only a failure to connect backs off: a session that was ready and then failed (the
          // server reset it, e.g. its own rapid-reset limit) says nothing about the next one, and a
          // backoff then made the next acquire fail and eject a healthy endpoint.
          if (s.settings) return;
          this.#failures++;
          this.#nextAttempt = Date.now() + BACKOFF_MS[Math.min(this.#failures, BACKOFF_MS.length - 1)];
          reject(err);
        });
        h2.once('close', () => {
          clearTimeout(timer);
          reject(new Error(`connection to ${this.#url.host} closed before it was ready`));
        });
      }),
    };
    s.connected.catch(() => {}); // observed by acquire(); this only keeps the rejection handled
    this.#sessions.push(s);
    // A PING not acknowledged by the next one: the peer accepts bytes but answers nothing (a
    // stopped process, a black-holed route). Without this the session stayed in the pool for ever,
    // every stream on it, health probes included, timing out, and the endpoint never came back.
    let unacked = false;
    const ping = setInterval(() => {
      // Before SETTINGS the connect timeout is in charge (a PING then failed at once, so a ping
      // interval shorter than the connect timeout cut every slow handshake).
      if (h2.closed || h2.destroyed || !s.settings) return;
      if (unacked) {
        h2.destroy(new Error(`no HTTP/2 PING ack from ${this.#url.host} within ${this.#pingIntervalMs} ms`));
        return;
      }
      unacked = true;
      h2.ping((err) => {
        unacked = false;
        if (err) h2.destroy(err);
      });
    }, this.#pingIntervalMs);
    ping.unref();
    const drop = () => {
      clearInterval(ping);
      const i = this.#sessions.indexOf(s);
      if (i >= 0) this.#sessions.splice(i, 1);
    };
    h2.once('remoteSettings', () => (s.settings = true));
    h2.on('close', drop);
    // A GOAWAY means "no new streams here": stop handing out this session at once.
    h2.on('goaway', drop);
    h2.on('error', () => {}); // reported through `connected` and on each stream
    // Every relayed watch on the session listens for its GOAWAY (src/proxy/forward.ts): hundreds.
    h2.setMaxListeners(0);
    h2.setTimeout(0);
    return s;
  }

  /**
   * No new streams, but the sessions stay open for the streams they carry: unlike `close()`, no
   * GOAWAY, which kube-apiserver answers with its own, ending every watch on them at once.
   */
  refuseNewStreams(): void {
    this.#closed = true;
  }

  /** Closes every session gracefully (in-flight streams finish). */
  close(): void {
    this.#closed = true;
    for (const s of this.#sessions.splice(0)) s.h2.close();
  }

  /** Destroys every session at once. */
  destroy(): void {
    this.#closed = true;
    for (const s of this.#sessions.splice(0)) s.h2.destroy();
  }
}

/** The session with the most short requests in flight; undefined when none has any. */
function mostShort(sessions: readonly Session[]): Session | undefined {
  let best: Session | undefined;
  for (const s of sessions) if (s.short > 0 && (best === undefined || s.short > best.short)) best = s;
  return best;
}

// Until the server's SETTINGS frame arrives, Node reports "unlimited"; assume a modest limit.
function maxStreams(s: Session): number {
  return s.settings ? (s.h2.remoteSettings.maxConcurrentStreams ?? DEFAULT_MAX_STREAMS) : DEFAULT_MAX_STREAMS;
}
