import { DEFAULT_WINDOW, RstStatus } from './frames.ts';
import { SpdyStreamResetError } from './errors.ts';
import type { SpdyStream } from './stream.ts';

/**
 * SPDY/3.1 flow control for one session. Windows start at 64 KiB per stream and for the session.
 * We always return credit as data is consumed, but only honour the peer's windows once it shows it
 * keeps them (a SETTINGS INITIAL_WINDOW_SIZE or a WINDOW_UPDATE): moby/spdystream, the
 * implementation kubectl and kube-apiserver use, never sends WINDOW_UPDATE and ignores ours, so
 * waiting for its credit would stall every transfer past 64 KiB.
 */
export class FlowControl {
  /** Whether the peer keeps windows (and so expects WINDOW_UPDATE from us). */
  peerEnabled = false;
  peerInitialWindow = DEFAULT_WINDOW;
  #sessionSendWindow = DEFAULT_WINDOW;
  #sessionUnacked = 0;
  #waiters: Array<() => void> = [];
  readonly #local: boolean;

  /** `local` false: behave as spdystream does, keeping no windows at all (for tests). */
  constructor(local = true) {
    this.#local = local;
  }

  /** Waits for send credit and takes up to `want` bytes of it for `stream`. */
  async reserve(stream: SpdyStream, want: number, isClosed: () => boolean): Promise<number> {
    if (!this.peerEnabled) return want;
    while (Math.min(stream.sendWindow, this.#sessionSendWindow) <= 0) {
      if (stream.destroyed || isClosed()) throw new SpdyStreamResetError(RstStatus.Cancel, 'stream closed');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    const n = Math.min(want, stream.sendWindow, this.#sessionSendWindow);
    stream.sendWindow -= n;
    this.#sessionSendWindow -= n;
    return n;
  }

  /** The peer's SETTINGS INITIAL_WINDOW_SIZE: applies to every open stream's window. */
  onInitialWindow(window: number, streams: Iterable<SpdyStream>): void {
    if (!this.#local) return;
    this.peerEnabled = true;
    for (const s of streams) s.sendWindow += window - this.peerInitialWindow;
    this.peerInitialWindow = window;
    this.wake();
  }

  onWindowUpdate(delta: number, stream: SpdyStream | null | 'session'): void {
    if (!this.#local) return;
    this.peerEnabled = true;
    if (stream === 'session') this.#sessionSendWindow += delta;
    else if (stream) stream.sendWindow += delta;
    this.wake();
  }

  /** Data arrived: returns the session-level credit to give back now (0 for none). */
  received(bytes: number): number {
    this.#sessionUnacked += bytes;
    if (!this.peerEnabled || this.#sessionUnacked < DEFAULT_WINDOW / 2) return 0;
    const credit = this.#sessionUnacked;
    this.#sessionUnacked = 0;
    return credit;
  }

  /** The stream's reader took data: returns the stream credit to give back now (0 for none). */
  consumed(stream: SpdyStream): number {
    if (!this.peerEnabled || stream.remoteFinished) return 0;
    const delta = stream.received - stream.readableLength - stream.acknowledged;
    if (delta >= DEFAULT_WINDOW / 2 || (delta > 0 && stream.readableLength === 0)) {
      stream.acknowledged += delta;
      return delta;
    }
    return 0;
  }

  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
