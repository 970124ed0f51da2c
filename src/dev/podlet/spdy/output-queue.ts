import type { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { SpdySessionClosedError } from './errors.ts';

/**
 * Writes frames to the socket strictly in the order they were queued, even when building one
 * needs an asynchronous step (compressing a header block). A queued write settles once its bytes
 * are handed to the socket and the socket has drained, which is how back-pressure from a slow
 * peer reaches the writers.
 */
export class OutputQueue {
  readonly #socket: Duplex;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  push(frame: Buffer | (() => Promise<Buffer>)): Promise<void> {
    const next = this.#tail.then(async () => {
      if (this.#closed || this.#socket.destroyed) throw new SpdySessionClosedError('session closed');
      const bytes = typeof frame === 'function' ? await frame() : frame;
      if (!this.#socket.write(bytes)) await this.#drained();
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves when everything queued so far has been written (or failed). */
  flushed(): Promise<void> {
    return this.#tail;
  }

  close(): void {
    this.#closed = true;
  }

  #drained(): Promise<void> {
    const socket = this.#socket;
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new SpdySessionClosedError('connection closed'));
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
  }
}
