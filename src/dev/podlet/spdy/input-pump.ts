import type { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { FrameParser, type RawFrame } from './frames.ts';

/**
 * Reads frames off the socket and hands them to `handle` one at a time, in order, waiting for each
 * (inflating a header block is asynchronous, and a stream whose reader lags may hold the line).
 * The socket is paused meanwhile, so a slow handler slows the peer through TCP.
 */
export class InputPump {
  readonly #socket: Duplex;
  readonly #handle: (frame: RawFrame) => Promise<void>;
  readonly #fail: (err: Error) => void;
  readonly #parser = new FrameParser();
  #inbox: Buffer[] = [];
  #busy = false;
  #stopped = false;

  constructor(socket: Duplex, handle: (frame: RawFrame) => Promise<void>, fail: (err: Error) => void) {
    this.#socket = socket;
    this.#handle = handle;
    this.#fail = fail;
  }

  push(chunk: Buffer): void {
    this.#inbox.push(chunk);
    if (!this.#busy) void this.#drain();
  }

  stop(): void {
    this.#stopped = true;
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    this.#socket.pause();
    try {
      while (this.#inbox.length > 0 && !this.#stopped) {
        for (const frame of this.#parser.push(this.#inbox.shift()!)) await this.#handle(frame);
      }
    } catch (err) {
      this.#stopped = true;
      this.#fail(err as Error);
      return;
    } finally {
      this.#busy = false;
    }
    if (!this.#stopped) this.#socket.resume();
  }
}
