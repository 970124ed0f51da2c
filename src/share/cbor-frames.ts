import type { FrameReader, WatchEvent } from './event.ts';
import { parseResourceVersion } from './event.ts';
import { WatchFrameError } from './json-frames.ts';

// kube-apiserver's CBOR watch stream (`Accept: application/cbor`, answered `Content-Type:
// application/cbor-seq` with the CBORServingAndStorage feature gate) is an RFC 8742 CBOR sequence:
// one data item per event, nothing between them, so a frame ends where its item ends. Each event
// is tag 55799 (self-described CBOR, `d9 d9 f7`) around a map {type, object} whose object is again
// tag 55799 around the object's map. Go strings are written as byte strings (major type 2), and
// map keys come in a shuffled order every time an object is encoded, so `type` may follow
// `object`. Frames are found by walking item heads only; of a whole frame only the few entries
// down to `object.metadata.resourceVersion` are read, the rest skipped by its head.
const MAX_FRAME = 64 * 1024 * 1024;
const MAX_DEPTH = 256;
const SELF_DESCRIBED = 55799;
const BREAK = 0xff;

const TYPE = Buffer.from('type');
const OBJECT = Buffer.from('object');
const METADATA = Buffer.from('metadata');
const RESOURCE_VERSION = Buffer.from('resourceVersion');

/** Splits a CBOR watch stream into frames and reads each one's type and resourceVersion once. */
export class CBORFrameReader implements FrameReader {
  lastRV: bigint;
  /** The bytes of a frame begun in an earlier chunk: `#len` of them, room for more after. */
  #partial: Buffer | null = null;
  #len = 0;
  /** Where the walk over the current frame is, from its start (past the bytes held: inside a string). */
  #pos = 0;
  /** The walk reached the end of the frame's item (its last string may still be coming). */
  #whole = false;
  /** Per open container (array, map, tag, indefinite string): items it still needs, or -1 - n for an indefinite one with n. */
  readonly #left: number[] = [];
  /** Per open container, its major type. */
  readonly #major: number[] = [];

  constructor(startRV: bigint) {
    this.lastRV = startRV;
  }

  push(chunk: Buffer, out: (e: WatchEvent) => void): void {
    let start = 0;
    if (this.#partial !== null) {
      this.#append(chunk);
      const end = this.#walk(this.#partial, 0, this.#len);
      if (end < 0) return;
      // The frame ends in this chunk (it would have ended in an earlier one otherwise).
      start = end - (this.#len - chunk.length);
      const held = this.#partial;
      this.#partial = null;
      this.#len = 0;
      // Frames stay in the window: one in a buffer with much room left is copied to its size.
      out(
        this.#read(held.length - end > end / 4 ? Buffer.from(held.subarray(0, end)) : held.subarray(0, end)),
      );
    }
    while (start < chunk.length) {
      const end = this.#walk(chunk, start, chunk.length);
      if (end < 0) {
        this.#append(chunk.subarray(start));
        return;
      }
      out(this.#read(chunk.subarray(start, end)));
      start = end;
    }
  }

  reset(): void {
    this.#partial = null;
    this.#len = 0;
    this.#pos = 0;
    this.#whole = false;
    this.#left.length = 0;
    this.#major.length = 0;
  }

  #append(bytes: Buffer): void {
    const need = this.#len + bytes.length;
    if (this.#partial === null || need > this.#partial.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * (this.#partial?.length ?? 0)));
      if (this.#partial !== null) this.#partial.copy(grown, 0, 0, this.#len);
      this.#partial = grown;
    }
    bytes.copy(this.#partial, this.#len);
    this.#len = need;
  }

  /**
   * Walks item heads of the frame that starts at `base` of `b` (bytes up to `avail` are there),
   * from where the last walk stopped. Returns where the frame ends in `b`, or -1 when more bytes
   * are needed; throws on bytes that are not well-formed CBOR (RFC 8949 §3 and appendix F).
   */
  #walk(b: Buffer, base: number, avail: number): number {
    const left = this.#left;
    const major = this.#major;
    let p = base + this.#pos;
    for (;;) {
      if (p > avail || (p === avail && !this.#whole)) {
        this.#pos = p - base;
        return -1;
      }
      if (this.#whole) {
        this.#pos = 0;
        this.#whole = false;
        return p;
      }
      const ib = b[p];
      const mt = ib >> 5;
      const ai = ib & 31;
      let n: number;
      if (ai < 24) {
        n = ai;
        p += 1;
      } else if (ai < 28) {
        const size = 1 << (ai - 24);
        if (p + 1 + size > avail) {
          this.#pos = p - base;
          return -1;
        }
        n = argument(b, p + 1, size);
        p += 1 + size;
      } else if (ai === 31) {
        n = -1;
        p += 1;
      } else throw malformed(`reserved additional information ${ai}`);
      const top = left.length - 1;
      // An indefinite-length string holds definite strings of its own type, then the break.
      if (top >= 0 && (major[top] === 2 || major[top] === 3) && ib !== BREAK && (mt !== major[top] || n < 0))
        throw malformed('an indefinite-length string with a chunk of another kind');
      switch (mt) {
        case 0:
        case 1:
        case 6:
          if (n < 0) throw malformed(`an indefinite length on major type ${mt}`);
          if (mt === 6) {
            this.#open(6, 1);
            continue;
          }
          break;
        case 2:
        case 3:
          if (n < 0) {
            this.#open(mt, -1);
            continue;
          }
          if (n > MAX_FRAME) throw tooLarge(n);
          p += n;
          break;
        case 4:
        case 5: {
          const items = mt === 5 && n > 0 ? 2 * n : n;
          if (items > MAX_FRAME) throw tooLarge(items);
          if (items !== 0) {
            this.#open(mt, items);
            continue;
          }
          break;
        }
        default:
          if (ai === 31) {
            if (top < 0 || left[top] >= 0) throw malformed('a break outside an indefinite-length item');
            if (major[top] === 5 && (-1 - left[top]) % 2 === 1)
              throw malformed('a map with a key and no value');
            left.pop();
            major.pop();
          } else if (ai === 24 && n < 32) throw malformed(`simple value ${n} in two bytes`);
      }
      if (p - base > MAX_FRAME) throw tooLarge(p - base);
      // An item ended: count it in its container, and end the containers it completes.
      while (left.length > 0) {
        const t = left.length - 1;
        if (left[t] < 0) {
          left[t]--;
          break;
        }
        if (--left[t] > 0) break;
        left.pop();
        major.pop();
      }
      if (left.length === 0) this.#whole = true;
    }
  }

  #open(mt: number, items: number): void {
    if (this.#left.length >= MAX_DEPTH) throw malformed(`items nested deeper than ${MAX_DEPTH}`);
    this.#left.push(items);
    this.#major.push(mt);
  }

  /** The event of a whole, well-formed frame. */
  #read(f: Buffer): WatchEvent {
    let type: string | null = null;
    let object = -1;
    let p = mapAt(f, 0);
    const count = hArg;
    if (p < 0) throw new WatchFrameError('a CBOR watch frame that is not a map');
    for (let i = 0; count < 0 ? f[p] !== BREAK : i < count; i++) {
      const key = p;
      p = skip(f, key);
      if (isKey(f, key, TYPE)) {
        if (type !== null) throw new WatchFrameError('a CBOR watch event with two types');
        type = stringAt(f, p);
        if (type === null) throw new WatchFrameError('a CBOR watch event whose type is not a string');
      } else if (isKey(f, key, OBJECT)) {
        if (object >= 0) throw new WatchFrameError('a CBOR watch event with two objects');
        object = p;
      }
      p = skip(f, p);
    }
    if (type === null) throw new WatchFrameError('a CBOR watch event without a type');
    if (type === 'ERROR') return { kind: 'error', rv: this.lastRV, bytes: f };
    const meta = object < 0 ? -1 : entry(f, object, METADATA);
    const rvAt = meta < 0 ? -1 : entry(f, meta, RESOURCE_VERSION);
    const rv = rvAt < 0 ? null : parseResourceVersion(stringAt(f, rvAt));
    if (rv === null)
      throw new WatchFrameError(`a ${type} CBOR watch event without an orderable resourceVersion`);
    this.lastRV = rv;
    return { kind: type === 'BOOKMARK' ? 'bookmark' : 'event', rv, bytes: f };
  }
}

function malformed(what: string): WatchFrameError {
  return new WatchFrameError(`a CBOR watch frame that is not well-formed: ${what}`);
}

function tooLarge(n: number): WatchFrameError {
  return new WatchFrameError(`a CBOR watch frame of over ${MAX_FRAME} bytes (${n})`);
}

function argument(b: Buffer, at: number, size: number): number {
  if (size === 1) return b[at];
  if (size === 2) return b.readUInt16BE(at);
  if (size === 4) return b.readUInt32BE(at);
  return b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
}

// The head just read by `head()`: its major type and argument (-1: indefinite length).
let hMajor = 0;
let hArg = 0;

/** Reads the head at `p` of a well-formed frame into hMajor/hArg; returns where its content starts. */
function head(b: Buffer, p: number): number {
  const ib = b[p];
  hMajor = ib >> 5;
  const ai = ib & 31;
  if (ai < 24) {
    hArg = ai;
    return p + 1;
  }
  if (ai === 31) {
    hArg = -1;
    return p + 1;
  }
  const size = 1 << (ai - 24);
  hArg = argument(b, p + 1, size);
  return p + 1 + size;
}

/** Where the item at `p` of a well-formed frame ends. */
function skip(b: Buffer, p: number): number {
  p = head(b, p);
  const m = hMajor;
  const n = hArg;
  if (m === 0 || m === 1 || m === 7) return p; // a float's bytes are its head's argument
  if (m === 6) return skip(b, p);
  if (n < 0) {
    while (b[p] !== BREAK) p = skip(b, p);
    return p + 1;
  }
  if (m === 2 || m === 3) return p + n;
  for (let i = m === 5 ? 2 * n : n; i > 0; i--) p = skip(b, p);
  return p;
}

/** The first entry of the map at `p` (past self-described tags), with its count in hArg; -1 if not a map. */
function mapAt(b: Buffer, p: number): number {
  for (;;) {
    const next = head(b, p);
    if (hMajor === 6 && hArg === SELF_DESCRIBED) p = next;
    else return hMajor === 5 ? next : -1;
  }
}

/** Where the value of `key` is in the map at `p`; -1 if it is not a map or has no such key. */
function entry(b: Buffer, p: number, key: Buffer): number {
  p = mapAt(b, p);
  const count = hArg;
  if (p < 0) return -1;
  for (let i = 0; count < 0 ? b[p] !== BREAK : i < count; i++) {
    const k = p;
    p = skip(b, k);
    if (isKey(b, k, key)) return p;
    p = skip(b, p);
  }
  return -1;
}

/** Whether the item at `p` is a definite byte or text string (Go writes strings as byte strings) equal to `key`. */
function isKey(b: Buffer, p: number, key: Buffer): boolean {
  const at = head(b, p);
  return (
    (hMajor === 2 || hMajor === 3) &&
    hArg === key.length &&
    b.compare(key, 0, key.length, at, at + hArg) === 0
  );
}

/** The definite string at `p`, or null. */
function stringAt(b: Buffer, p: number): string | null {
  const at = head(b, p);
  return (hMajor === 2 || hMajor === 3) && hArg >= 0 ? b.toString('latin1', at, at + hArg) : null;
}
