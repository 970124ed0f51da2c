import type { FrameReader, WatchEvent } from './event.ts';
import { parseResourceVersion } from './event.ts';
import { WatchFrameError } from './json-frames.ts';
import { field, MAGIC, unwrap } from './protobuf-wire.ts';

// kube-apiserver's protobuf watch stream (`application/vnd.kubernetes.protobuf;stream=watch`):
// each frame is a 4-byte big-endian length and then a metav1.WatchEvent{type, object:
// RawExtension{raw}} as it is (the stream's raw serializer adds no envelope), whose raw is
// `k8s\0` + runtime.Unknown{raw} around the object, whose field 1 is its ObjectMeta, whose field 6
// is resourceVersion. Only those few fields are read: the rest is skipped by its wire type.
const MAX_FRAME = 64 * 1024 * 1024;

/** Splits a protobuf watch stream into frames and reads each one's type and resourceVersion once. */
export class ProtobufFrameReader implements FrameReader {
  #partial: Buffer | null = null;
  lastRV: bigint;

  constructor(startRV: bigint) {
    this.lastRV = startRV;
  }

  push(chunk: Buffer, out: (e: WatchEvent) => void): void {
    const buf = this.#partial === null ? chunk : Buffer.concat([this.#partial, chunk]);
    this.#partial = null;
    let start = 0;
    while (buf.length - start >= 4) {
      const len = buf.readUInt32BE(start);
      if (len > MAX_FRAME) throw new WatchFrameError(`a protobuf watch frame of ${len} bytes`);
      if (buf.length - start - 4 < len) break;
      out(this.#read(buf.subarray(start, start + 4 + len)));
      start += 4 + len;
    }
    if (start < buf.length) this.#partial = Buffer.from(buf.subarray(start));
  }

  reset(): void {
    this.#partial = null;
  }

  #read(frame: Buffer): WatchEvent {
    const end = frame.length;
    // A frame in an Unknown envelope is taken too (the non-streaming serializer's form).
    const event = end - 4 >= 4 && frame.compare(MAGIC, 0, 4, 4, 8) === 0 ? unwrap(frame, 4, end) : [4, end];
    const type = event && field(frame, event[0], event[1], 1);
    if (event === null || type === null)
      throw new WatchFrameError('a protobuf watch frame without a WatchEvent');
    const t = frame.toString('latin1', type[0], type[1]);
    if (t === 'ERROR') return { kind: 'error', rv: this.lastRV, bytes: frame };
    const ext = field(frame, event[0], event[1], 2);
    const raw = ext && field(frame, ext[0], ext[1], 1);
    const obj = raw && unwrap(frame, raw[0], raw[1]);
    const meta = obj && field(frame, obj[0], obj[1], 1);
    const rvField = meta && field(frame, meta[0], meta[1], 6);
    const rv = rvField && parseResourceVersion(frame.toString('latin1', rvField[0], rvField[1]));
    if (rv === null || rv === undefined)
      throw new WatchFrameError(`a ${t} protobuf watch event without an orderable resourceVersion`);
    this.lastRV = rv;
    return { kind: t === 'BOOKMARK' ? 'bookmark' : 'event', rv, bytes: frame };
  }
}
