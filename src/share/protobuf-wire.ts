// The few pieces of the protobuf wire format the gateway reads and writes itself: kube-apiserver's
// messages are only walked to the fields it needs (the rest is skipped by its wire type) and lists
// are assembled from the apiserver's own item bytes.

/** `k8s\0`: the start of kube-apiserver's protobuf envelope (runtime.Unknown follows). */
export const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** One field of a message: its number and, for a length-delimited one, where its bytes are. */
export interface WireField {
  readonly num: number;
  readonly wire: number;
  readonly start: number;
  readonly end: number;
}

function varint(buf: Buffer, i: number, end: number): [number, number] | null {
  let n = 0;
  let shift = 0;
  let b: number;
  do {
    if (i >= end || shift > 63) return null;
    b = buf[i++];
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [n, i];
}

/** The fields of the message in `buf[start, end)`, in order; throws on bytes that are not one. */
export function* wireFields(buf: Buffer, start: number, end: number): Generator<WireField> {
  let i = start;
  while (i < end) {
    const key = varint(buf, i, end);
    if (key === null) throw new ProtobufLayoutError('a cut field key');
    i = key[1];
    const wire = key[0] % 8;
    const num = Math.floor(key[0] / 8);
    const from = i;
    if (wire === 0) {
      const v = varint(buf, i, end);
      if (v === null) throw new ProtobufLayoutError('a cut varint');
      i = v[1];
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = varint(buf, i, end);
      if (len === null) throw new ProtobufLayoutError('a cut length');
      i = len[1] + len[0];
      if (i > end) throw new ProtobufLayoutError('a field past its message');
      yield { num, wire, start: len[1], end: i };
      continue;
    } else throw new ProtobufLayoutError(`wire type ${wire}`);
    if (i > end) throw new ProtobufLayoutError('a field past its message');
    yield { num, wire, start: from, end: i };
  }
}

/** The bytes of length-delimited field `want` (the first) of the message in `buf[start, end)`, or null. */
export function field(buf: Buffer, start: number, end: number, want: number): [number, number] | null {
  try {
    for (const f of wireFields(buf, start, end)) if (f.num === want && f.wire === 2) return [f.start, f.end];
  } catch (err) {
    if (err instanceof ProtobufLayoutError) return null;
    throw err;
  }
  return null;
}

/** The `raw` of an envelope (`k8s\0` + runtime.Unknown) in `buf[start, end)`, or null. */
export function unwrap(buf: Buffer, start: number, end: number): [number, number] | null {
  if (end - start < 4 || buf.compare(MAGIC, 0, 4, start, start + 4) !== 0) return null;
  return field(buf, start + 4, end, 2);
}

/** A varint as bytes. */
function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Length-delimited field `num` around `parts` (pushed into `out`); returns the field's length. */
export function lengthDelimited(out: Buffer[], num: number, parts: readonly Buffer[]): number {
  let len = 0;
  for (const p of parts) len += p.length;
  const head = Buffer.concat([varintBytes(num * 8 + 2), varintBytes(len)]);
  out.push(head, ...parts);
  return head.length + len;
}

/** Bytes that are not the protobuf message the gateway expected. */
export class ProtobufLayoutError extends Error {
  override name = 'ProtobufLayoutError';
  readonly code = 'KG_PROTOBUF_LAYOUT';
}
