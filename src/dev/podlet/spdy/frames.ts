import { Buffer } from 'node:buffer';
import { SpdyProtocolError } from './errors.ts';

export const SPDY_VERSION = 3;

export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
} as const;

export const SETTINGS_INITIAL_WINDOW_SIZE = 7;
export const DEFAULT_WINDOW = 64 * 1024;
/** Frame lengths are 24 bits. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export interface ControlFrame {
  readonly control: true;
  readonly type: number;
  readonly flags: number;
  readonly payload: Buffer;
}

export interface DataFrame {
  readonly control: false;
  readonly streamId: number;
  readonly flags: number;
  readonly data: Buffer;
}

export type RawFrame = ControlFrame | DataFrame;

/** Splits a byte stream into frames; feed it chunks, take the complete frames out. */
export class FrameParser {
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** Bytes needed before the next frame can be complete. */
  #need = 8;

  push(chunk: Buffer): RawFrame[] {
    this.#pending.push(chunk);
    this.#pendingLength += chunk.length;
    if (this.#pendingLength < this.#need) return [];
    let buf = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending);
    const frames: RawFrame[] = [];
    while (buf.length >= 8) {
      const length = buf.readUIntBE(5, 3);
      if (buf.length < 8 + length) break;
      const flags = buf[4];
      const body = buf.subarray(8, 8 + length);
      if (buf[0] & 0x80) {
        const version = buf.readUInt16BE(0) & 0x7fff;
        if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
        frames.push({ control: true, type: buf.readUInt16BE(2), flags, payload: body });
      } else {
        const streamId = buf.readUInt32BE(0) & 0x7fffffff;
        if (streamId === 0) throw new SpdyProtocolError('data frame on stream 0');
        frames.push({ control: false, streamId, flags, data: body });
      }
      buf = buf.subarray(8 + length);
    }
    this.#pending = buf.length > 0 ? [buf] : [];
    this.#pendingLength = buf.length;
    this.#need = buf.length >= 8 ? 8 + buf.readUIntBE(5, 3) : 8;
    return frames;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([head, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([head, data]);
}

function words(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

export function synStreamPrefix(streamId: number, associatedId: number, priority: number): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b.writeUInt32BE(associatedId & 0x7fffffff, 4);
  b[8] = (priority & 0x7) << 5;
  return b;
}

export const streamIdPrefix = (streamId: number): Buffer => words(streamId & 0x7fffffff);
export const rstStreamFrame = (streamId: number, status: number): Buffer =>
  controlFrame(FrameType.RstStream, 0, words(streamId & 0x7fffffff, status));
export const pingFrame = (id: number): Buffer => controlFrame(FrameType.Ping, 0, words(id));
export const goAwayFrame = (lastGoodStreamId: number, status: number): Buffer =>
  controlFrame(FrameType.GoAway, 0, words(lastGoodStreamId & 0x7fffffff, status));
export const windowUpdateFrame = (streamId: number, delta: number): Buffer =>
  controlFrame(FrameType.WindowUpdate, 0, words(streamId & 0x7fffffff, delta & 0x7fffffff));

export function settingsFrame(settings: ReadonlyArray<readonly [id: number, value: number]>): Buffer {
  const b = Buffer.alloc(4 + settings.length * 8);
  b.writeUInt32BE(settings.length, 0);
  settings.forEach(([id, value], i) => {
    b.writeUInt32BE(id & 0xffffff, 4 + i * 8);
    b.writeUInt32BE(value >>> 0, 8 + i * 8);
  });
  return controlFrame(FrameType.Settings, 0, b);
}

export function parseSettings(payload: Buffer): Map<number, number> {
  if (payload.length < 4) throw new SpdyProtocolError('short SETTINGS frame');
  const n = payload.readUInt32BE(0);
  if (payload.length < 4 + n * 8) throw new SpdyProtocolError('short SETTINGS frame');
  const out = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    out.set(payload.readUInt32BE(4 + i * 8) & 0xffffff, payload.readUInt32BE(8 + i * 8));
  }
  return out;
}

/** Reads the fixed 32-bit words at the start of a control frame's payload. */
export function payloadWords(frame: ControlFrame, count: number): number[] {
  if (frame.payload.length < count * 4) throw new SpdyProtocolError(`short control frame type ${frame.type}`);
  return Array.from({ length: count }, (_, i) => frame.payload.readUInt32BE(i * 4));
}
