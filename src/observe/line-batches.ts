import sonicBoom from 'sonic-boom';

// A CommonJS module: its default export is the class, which also carries itself as `SonicBoom`.
const { SonicBoom } = sonicBoom;

/** Where log lines go: pino's destination (a SonicBoom on a file or fd) or any stream with `write`. */
export interface LineDestination {
  write(s: string): unknown;
}

/** What a SonicBoom has beyond its declared type, read to open a second one like it. */
interface SonicBoomState {
  readonly file: string | null;
  readonly fd: number;
  readonly sync: boolean;
  /** A write in flight, and what waits behind it (SonicBoom's own fields, stable since v1). */
  readonly _writing: boolean;
  readonly _len: number;
}

/** A SonicBoom in buffer mode (`contentMode: 'buffer'`) takes Buffers, not strings. */
interface BufferSonicBoom {
  readonly fd: number;
  write(b: Buffer): boolean;
  flushSync(): void;
  end(): void;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

/**
 * The lines of one event-loop turn, written together. On a file or fd (pino's own SonicBoom
 * destination) they are encoded once into a Buffer and written by a SonicBoom of their own in
 * buffer mode: SonicBoom's string mode encodes every batch twice (once to write it, once again
 * to account for what was written). Elsewhere (tests' streams) the batch is one string.
 *
 * A file is opened O_APPEND, so each write(2) lands whole at its end and lines of other writers
 * (the other workers, pino's own lines) never interleave with them; a pipe takes writes of at most
 * PIPE_BUF (4096) bytes atomically, so batches to an fd stay that small.
 */
export class LineBatches {
  #out: BufferSonicBoom | null = null;
  /** Whether `#out` opened a file of its own (closed at the end), rather than writing to a given fd. */
  #ownsFile = false;
  readonly #fallback: LineDestination;
  #size = PIPE_BUF;
  /** Whether the writer was chosen: a SonicBoom opening its file says which file only once open. */
  #decided = false;
  /** Lines are encoded here; a batch is copied out of it, its size, when written. */
  #scratch: Buffer | null = null;
  #used = 0;
  #text = '';

  constructor(destination: LineDestination) {
    this.#fallback = destination;
  }

  #decide(): void {
    const destination = this.#fallback;
    if (!(destination instanceof SonicBoom)) {
      this.#decided = true;
      return;
    }
    const d = destination as unknown as SonicBoomState;
    // Lines it took as strings while its file was opening may still wait in it, or be in an
    // asynchronous write: a writer of our own would pass them. Strings to it until it is idle.
    if (d._writing || d._len > 0) return;
    if (typeof d.file === 'string') {
      this.#size = FILE_BATCH;
      this.#ownsFile = true;
      // Written synchronously, as nginx writes its buffered access log: a 64 KiB write(2) to the
      // page cache costs ~15 µs, where handing it to libuv's thread pool cost ~190 µs of CPU here
      // (a thread wake-up and its completion callback per write).
      this.#out = new SonicBoom({
        dest: d.file,
        append: true,
        mkdir: true,
        sync: true,
        contentMode: 'buffer',
        maxWrite: FILE_MAX_WRITE,
      }) as unknown as BufferSonicBoom;
    } else if (d.fd >= 0) {
      this.#out = new SonicBoom({
        fd: d.fd,
        sync: d.sync,
        contentMode: 'buffer',
        maxWrite: PIPE_BUF,
      }) as unknown as BufferSonicBoom;
    } else return; // still opening its file: strings to it until then
    this.#decided = true;
    this.#out.on('error', ignore); // as pino's destination: a lost log line must not stop serving
  }

  /** Adds one line (with its newline); a full batch is written first. */
  add(line: string): void {
    if (!this.#decided && this.#text === '') this.#decide();
    const out = this.#out;
    if (out === null) {
      if (this.#text.length + line.length > this.#size) this.flush();
      this.#text += line;
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const most = line.length * 3;
    if (this.#used + most > this.#size) this.flush();
    if (most > this.#size) {
      out.write(Buffer.from(line));
      return;
    }
    this.#scratch ??= Buffer.allocUnsafeSlow(this.#size);
    this.#used += this.#scratch.write(line, this.#used);
  }

  /** Writes the batch held. */
  flush(): void {
    const out = this.#out;
    if (out === null) {
      if (this.#text === '') return;
      const batch = this.#text;
      this.#text = '';
      this.#fallback.write(batch);
      return;
    }
    if (this.#used === 0) return;
    // A copy: an asynchronous write keeps the buffer it is given until it is done.
    out.write(Buffer.from(this.#scratch!.subarray(0, this.#used)));
    this.#used = 0;
  }

  /**
   * Writes the batch held and what is queued behind a write in flight, synchronously, and closes
   * its own file (at shutdown); later lines go to the destination as strings.
   */
  close(): void {
    this.flush();
    const out = this.#out;
    this.#decided = true; // later lines: strings to the destination
    if (out === null) return;
    this.#out = null;
    try {
      if (out.fd >= 0) out.flushSync();
    } catch {
      // A write in flight: end() below still writes what is queued before it closes the file.
    }
    if (this.#ownsFile) out.end();
  }
}

const PIPE_BUF = 4096;
const FILE_BATCH = 65536;
/** Batches queued behind a slow write go out together, up to this much in one write(2). */
const FILE_MAX_WRITE = 1 << 20;

function ignore(): void {}
