import { createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/** A line longer than this is written in `P` (partial) pieces, as containerd does. */
export const MAX_LOG_LINE = 16 * 1024;

/** RFC 3339 UTC time with nanosecond digits, as CRI log lines start. */
export function rfc3339Nano(ms: number = performance.timeOrigin + performance.now()): string {
  const whole = Math.floor(ms);
  const base = new Date(whole).toISOString().slice(0, 19);
  const ns = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1e6);
  return `${base}.${String(Math.min(ns, 999_999_999)).padStart(9, '0')}Z`;
}

/**
 * Appends a container's stdout and stderr to one file in the CRI log format:
 * `<RFC3339Nano> stdout|stderr F <line>` for a complete line, `P` for a piece of a line written
 * without its newline (a line over MAX_LOG_LINE, or the last bytes before the stream ended).
 */
export class CriLogWriter {
  readonly path: string;
  readonly #out: WriteStream;
  readonly #pending: Record<'stdout' | 'stderr', Buffer> = {
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
  };
  #failure: Error | undefined;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    // Opened now, so the file exists as soon as the container does (`kubectl logs` right after start).
    this.#out = createWriteStream(path, { fd: openSync(path, 'a') });
    this.#out.on('error', (err) => {
      this.#failure = err;
    });
  }

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    let buf = this.#pending[stream].length ? Buffer.concat([this.#pending[stream], chunk]) : chunk;
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl >= 0 && nl <= MAX_LOG_LINE) {
        this.#line(stream, 'F', buf.subarray(0, nl));
        buf = buf.subarray(nl + 1);
      } else if (buf.length > MAX_LOG_LINE) {
        this.#line(stream, 'P', buf.subarray(0, MAX_LOG_LINE));
        buf = buf.subarray(MAX_LOG_LINE);
      } else break;
    }
    this.#pending[stream] = Buffer.from(buf);
  }

  /** The stream ended: its unterminated last bytes are written as a partial line. */
  end(stream: 'stdout' | 'stderr'): void {
    if (this.#pending[stream].length) this.#line(stream, 'P', this.#pending[stream]);
    this.#pending[stream] = Buffer.alloc(0);
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#failure) return resolve();
      this.#out.end(() => resolve());
    });
  }

  #line(stream: 'stdout' | 'stderr', tag: 'F' | 'P', text: Buffer): void {
    if (this.#failure) return;
    this.#out.write(
      Buffer.concat([Buffer.from(`${rfc3339Nano()} ${stream} ${tag} `), text, Buffer.from('\n')]),
    );
  }
}
