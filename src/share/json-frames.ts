import type { FrameReader, WatchEvent } from './event.ts';
import { parseResourceVersion } from './event.ts';

/** A frame the gateway cannot order (no resourceVersion on an object event, or not JSON). */
export class WatchFrameError extends Error {
  override name = 'WatchFrameError';
  readonly code = 'KG_WATCH_FRAME';
}

const NEWLINE = 0x0a;

/**
 * Splits a JSON watch stream (kube-apiserver writes each `{"type":…,"object":…}` followed by a
 * newline) into frames, and reads each frame's type and resourceVersion once. A frame whose
 * bytes all came in one chunk is a view into that chunk (no copy).
 */
export class JSONFrameReader implements FrameReader {
  #partial: Buffer | null = null;
  /** The last resourceVersion read (a terminal `error` frame carries it). */
  lastRV: bigint;

  constructor(startRV: bigint) {
    this.lastRV = startRV;
  }

  /** Every whole frame of `chunk` (with what was left of the previous one), in order. */
  push(chunk: Buffer, out: (e: WatchEvent) => void): void {
    let start = 0;
    if (this.#partial !== null) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.#partial = Buffer.concat([this.#partial, chunk]);
        return;
      }
      const frame = Buffer.concat([this.#partial, chunk.subarray(0, nl + 1)]);
      this.#partial = null;
      out(this.#read(frame));
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      if (nl > start) out(this.#read(chunk.subarray(start, nl + 1)));
      start = nl + 1;
    }
    if (start < chunk.length) this.#partial = Buffer.from(chunk.subarray(start));
  }

  /** Drops a frame cut in half (the upstream went away mid-frame; it is sent again after the resume). */
  reset(): void {
    this.#partial = null;
  }

  #read(frame: Buffer): WatchEvent {
    let parsed: unknown;
    try {
      parsed = JSON.parse(frame.toString('utf8'));
    } catch {
      throw new WatchFrameError(`a watch frame is not JSON: ${frame.subarray(0, 80).toString('utf8')}`);
    }
    const f = parsed as { type?: unknown; object?: { metadata?: { resourceVersion?: unknown } } };
    if (f.type === 'ERROR') return { kind: 'error', rv: this.lastRV, bytes: frame };
    const rv = parseResourceVersion(f.object?.metadata?.resourceVersion as string | undefined);
    if (rv === null)
      throw new WatchFrameError(`a ${String(f.type)} watch event without an orderable resourceVersion`);
    this.lastRV = rv;
    return { kind: f.type === 'BOOKMARK' ? 'bookmark' : 'event', rv, bytes: frame };
  }
}
