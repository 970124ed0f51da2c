/** What one frame of a watch stream is, for fan-out. */
export type WatchEventKind = 'event' | 'bookmark' | 'error' | 'end';

/**
 * One frame of a shared watch as the apiserver sent it: parsed once for its type and
 * resourceVersion, then the same bytes go to every client. `error` (an apiserver `Status` in
 * the stream) and `end` (the shared stream cannot go on) are terminal: every client gets the
 * error's bytes, then its response ends.
 */
export interface WatchEvent {
  readonly kind: WatchEventKind;
  /** The object's resourceVersion (a bookmark's progress); for `error` and `end`, the last one seen. */
  readonly rv: bigint;
  /** The frame's bytes, newline included; empty for `end`. */
  readonly bytes: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** The terminal frame that ends every client's response cleanly (they re-watch from their resourceVersion). */
export function endEvent(rv: bigint): WatchEvent {
  return { kind: 'end', rv, bytes: EMPTY };
}

const DECIMAL = /^[1-9][0-9]{0,19}$/;

/**
 * A resourceVersion the gateway can order: etcd's revision, a positive decimal (kube-apiserver
 * documents resourceVersions as opaque, but every built-in storage and the watch cache compare
 * them as uint64). Null for anything else ("", "0", not a number): such a watch is not shared.
 */
export function parseResourceVersion(rv: string | undefined | null): bigint | null {
  if (typeof rv !== 'string' || !DECIMAL.test(rv)) return null;
  const n = BigInt(rv);
  return n <= 0xffffffffffffffffn ? n : null;
}

/** Splits a watch stream into frames and reads each one's type and resourceVersion once. */
export interface FrameReader {
  /** The last resourceVersion read (a terminal `error` frame carries it). */
  readonly lastRV: bigint;
  /** Every whole frame of `chunk` (with what was left of the previous one), in order; throws on a frame it cannot order. */
  push(chunk: Buffer, out: (e: WatchEvent) => void): void;
  /** Drops a frame cut in half (the upstream went away mid-frame; it is sent again after the resume). */
  reset(): void;
}
