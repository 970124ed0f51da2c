import { PassThrough, Writable } from 'node:stream';
import type { AttachStreams } from '../types.ts';

interface Attacher {
  readonly stdout: PassThrough;
  readonly stderr: PassThrough | null;
}

export interface AttachHubOptions {
  /** The container's stdin pipe, when it has one. */
  readonly stdin: Writable | null;
  readonly stdinOnce: boolean;
  /** stderr merged into stdout (TTY): attachers get no stderr stream. */
  readonly tty: boolean;
  resize(cols: number, rows: number): void;
}

/**
 * Hands a container's output to every attached client from the moment it attaches, and their input to
 * the container's stdin. With stdinOnce, the container's stdin closes when the first attacher that
 * had stdin detaches (or ends its input).
 */
export class AttachHub {
  readonly #opts: AttachHubOptions;
  readonly #attachers = new Set<Attacher>();
  #stdinClosed = false;
  #ended = false;

  constructor(opts: AttachHubOptions) {
    this.#opts = opts;
    opts.stdin?.on('error', () => {
      this.#stdinClosed = true;
    });
  }

  output(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    for (const a of this.#attachers) {
      const target = stream === 'stderr' && a.stderr ? a.stderr : a.stdout;
      target.write(chunk);
    }
  }

  /** The container is gone: every attacher's output ends. */
  end(): void {
    this.#ended = true;
    for (const a of this.#attachers) this.#close(a);
    this.#attachers.clear();
    this.#closeStdin();
  }

  attach(): AttachStreams {
    const attacher: Attacher = {
      stdout: new PassThrough(),
      stderr: this.#opts.tty ? null : new PassThrough(),
    };
    let detached = false;
    const detach = (): void => {
      if (detached) return;
      detached = true;
      this.#attachers.delete(attacher);
      this.#close(attacher);
      if (stdin && this.#opts.stdinOnce) this.#closeStdin();
    };
    const stdin = this.#stdinFor(() => {
      if (this.#opts.stdinOnce) this.#closeStdin();
    });
    if (this.#ended) this.#close(attacher);
    else this.#attachers.add(attacher);
    return {
      stdin,
      stdout: attacher.stdout,
      stderr: attacher.stderr,
      resize: (cols, rows) => this.#opts.resize(cols, rows),
      detach,
    };
  }

  #stdinFor(onEnd: () => void): Writable | null {
    const target = this.#opts.stdin;
    if (!target || this.#stdinClosed || this.#ended) return null;
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.#stdinClosed) return cb();
        target.write(chunk, () => cb());
      },
      final: (cb) => {
        onEnd();
        cb();
      },
    });
  }

  #closeStdin(): void {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    this.#opts.stdin?.end();
  }

  #close(a: Attacher): void {
    a.stdout.end();
    a.stderr?.end();
  }
}
