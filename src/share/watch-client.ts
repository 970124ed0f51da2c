import type { ClientExchange } from '../proxy/exchange.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import type { Identity } from '../request/types.ts';
import type { SharedWatch } from './shared-watch.ts';
import type { ShareableWatch } from './watch-key.ts';

/** Where a client's events go: its exchange and its access-log record. */
export interface ClientSink {
  readonly x: ClientExchange;
  readonly record: AccessRecord;
}

// kube-apiserver's default for a watch without timeoutSeconds: --min-request-timeout (1800 s)
// times a random factor in [1, 2), so that watches do not all end together.
const MIN_REQUEST_TIMEOUT_S = 1800;

/** One client of a shared watch: where it is in the window, and what it asked for. */
export class WatchClient {
  readonly identity: Identity;
  /** Events at or below this resourceVersion are not for this client. */
  rv: bigint;
  /** The highest resourceVersion written to it (its own `rv` before the first). */
  lastRV: bigint;
  readonly bookmarks: boolean;
  /** The next window sequence number to consider. */
  seq: number;
  /** Its buffer is full: nothing is written until it drains. */
  blocked = false;
  done = false;
  #watch: SharedWatch;
  // Per open watch, so kept lean: the sink's two parts, not the sink; no closure made until needed.
  readonly #x: ClientExchange;
  readonly #record: AccessRecord;
  readonly #timer: NodeJS.Timeout;

  constructor(watch: SharedWatch, sink: ClientSink, spec: ShareableWatch, identity: Identity, seq: number) {
    this.#watch = watch;
    this.#x = sink.x;
    this.#record = sink.record;
    this.identity = identity;
    this.rv = spec.rv;
    this.lastRV = spec.rv;
    this.bookmarks = spec.bookmarks;
    this.seq = seq;
    const seconds = spec.timeoutSeconds ?? MIN_REQUEST_TIMEOUT_S * (1 + Math.random());
    this.#timer = setTimeout(this.#timeout, seconds * 1000);
    this.#timer.unref();
    sink.x.onClose(this.#closed);
    sink.x.releaseRequestHead();
  }

  write(bytes: Buffer): void {
    const x = this.#x;
    if (x.gone || x.ended) return;
    this.#record.bytesOut += bytes.length;
    if (!x.write(bytes)) {
      this.blocked = true;
      x.onDrain(() => this.#drained());
    }
  }

  /**
   * Moves the client to another stream of the same watch at `seq`: from there it gets only what
   * is above what it was written (a watch-list's client, after its initial events, onto the
   * key's plain stream).
   */
  rebind(watch: SharedWatch, seq: number): void {
    this.#watch = watch;
    this.seq = seq;
    this.rv = this.lastRV;
  }

  /** Ends the response cleanly (the client re-watches from the last resourceVersion it got); `why` goes to the access log. */
  end(why: string | null): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.#timer);
    if (why !== null) this.#record.error ??= why;
    const x = this.#x;
    if (!x.gone && !x.ended) x.end();
    this.#watch.detach(this);
  }

  #drained(): void {
    this.blocked = false;
    this.#watch.pump(this);
  }

  readonly #timeout = (): void => {
    this.end(null);
  };

  readonly #closed = (): void => {
    this.done = true;
    clearTimeout(this.#timer);
    this.#watch.detach(this);
  };
}
