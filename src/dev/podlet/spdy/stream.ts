import type { Buffer } from 'node:buffer';
import { Duplex } from 'node:stream';
import type { SpdyHeaders } from './header-block.ts';

/** What a stream asks of its session; implemented by SpdySession. */
export interface StreamOwner {
  sendData(stream: SpdyStream, data: Buffer): Promise<void>;
  sendFin(stream: SpdyStream): Promise<void>;
  sendReset(stream: SpdyStream, status: number): void;
  consumed(stream: SpdyStream): void;
  forget(stream: SpdyStream): void;
}

/**
 * One SPDY stream as a Duplex: writing sends DATA frames, `end()` sends an empty DATA frame with
 * FIN (half-close), reading yields the peer's DATA until its FIN. A RST_STREAM from the peer, or
 * the session ending, destroys the stream without an error; `resetStatus` then says which.
 */
export class SpdyStream extends Duplex {
  readonly id: number;
  /** The headers of the SYN_STREAM that opened it. */
  readonly headers: SpdyHeaders;
  /** Send window (bytes the peer still accepts), used once the peer shows it does flow control. */
  sendWindow: number;
  /** RST_STREAM status received from the peer, or null. */
  resetStatus: number | null = null;
  localFinished = false;
  remoteFinished = false;
  /** Bytes pushed to the readable side, and bytes already given back with WINDOW_UPDATE. */
  received = 0;
  acknowledged = 0;
  /** Resolves once frames may be sent on it (after our SYN_REPLY for a stream the peer opened). */
  ready: Promise<void>;
  readonly #owner: StreamOwner;
  #readWaiters: Array<() => void> = [];
  #resetSent = false;

  constructor(
    owner: StreamOwner,
    id: number,
    headers: SpdyHeaders,
    sendWindow: number,
    ready: Promise<void>,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.#owner = owner;
    this.id = id;
    this.headers = headers;
    this.sendWindow = sendWindow;
    this.ready = ready;
  }

  /** Resets the stream (RST_STREAM CANCEL unless told otherwise) and destroys it. */
  reset(status = 5): void {
    if (!this.destroyed) this.#sendReset(status);
    this.destroy();
  }

  /** Resolves when the reader wants more data (or the stream is gone). */
  whenReadable(): Promise<void> {
    if (this.destroyed || this.readableLength < this.readableHighWaterMark) return Promise.resolve();
    return new Promise((resolve) => this.#readWaiters.push(resolve));
  }

  /** Session side: the peer's DATA. */
  deliver(data: Buffer): void {
    if (this.destroyed || this.remoteFinished) return;
    this.received += data.length;
    this.push(data);
  }

  /** Session side: the peer's FIN. */
  deliverFin(): void {
    if (this.remoteFinished) return;
    this.remoteFinished = true;
    if (!this.destroyed) this.push(null);
    this.#maybeForget();
  }

  /** Session side: the peer's RST_STREAM, or the session is gone (status null). */
  deliverReset(status: number | null): void {
    this.resetStatus = status;
    this.destroy();
  }

  // Every path that takes data out of the buffer (flowing mode, for-await, read()) goes through
  // read(), which is where consumed bytes are known; _read alone fires too rarely for that.
  override read(size?: number): ReturnType<Duplex['read']> {
    const chunk: ReturnType<Duplex['read']> = super.read(size);
    this.#owner.consumed(this);
    return chunk;
  }

  override _read(): void {
    const waiters = this.#readWaiters;
    this.#readWaiters = [];
    for (const w of waiters) w();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#owner.sendData(this, chunk).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#owner.sendFin(this).then(() => {
      this.localFinished = true;
      this.#maybeForget();
      cb();
    }, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // As spdystream does: no RST once our side is finished (the peer may still be reading).
    if (!this.localFinished && this.resetStatus === null) this.#sendReset(5);
    this.#owner.forget(this);
    const waiters = this.#readWaiters;
    this.#readWaiters = [];
    for (const w of waiters) w();
    cb(err);
  }

  #sendReset(status: number): void {
    if (this.#resetSent) return;
    this.#resetSent = true;
    this.#owner.sendReset(this, status);
  }

  #maybeForget(): void {
    if (this.localFinished && this.remoteFinished) this.#owner.forget(this);
  }
}
