/**
 * A minimal CBOR (RFC 8949) decoder for comparing kube-apiserver answers by value: kube-apiserver
 * encodes map keys in no fixed order, so two CBOR answers for the same object differ in bytes.
 * Maps become plain objects with sorted keys, byte strings hex strings, tags `{ tag, value }`.
 */
export function decodeCBOR(buf: Buffer): unknown {
  const r = { buf, pos: 0 };
  const v = item(r);
  if (r.pos !== buf.length) throw new Error(`CBOR: ${buf.length - r.pos} trailing bytes`);
  return v;
}

interface Reader {
  buf: Buffer;
  pos: number;
}

const BREAK = Symbol('break');

function arg(r: Reader, info: number): number {
  if (info < 24) return info;
  const b = r.buf;
  const at = r.pos;
  switch (info) {
    case 24:
      r.pos += 1;
      return b.readUInt8(at);
    case 25:
      r.pos += 2;
      return b.readUInt16BE(at);
    case 26:
      r.pos += 4;
      return b.readUInt32BE(at);
    case 27:
      r.pos += 8;
      return Number(b.readBigUInt64BE(at));
    default:
      throw new Error(`CBOR: bad additional info ${info} at ${at - 1}`);
  }
}

function item(r: Reader): unknown {
  if (r.pos >= r.buf.length) throw new Error('CBOR: truncated');
  const first = r.buf[r.pos++];
  const major = first >> 5;
  const info = first & 31;
  if (info === 31) return indefinite(r, major);
  if (major === 7) return simple(r, info);
  const n = arg(r, info);
  switch (major) {
    case 0:
      return n;
    case 1:
      return -1 - n;
    case 2:
    case 3: {
      const s = r.buf.subarray(r.pos, r.pos + n);
      if (s.length !== n) throw new Error('CBOR: truncated string');
      r.pos += n;
      return major === 2 ? `h'${s.toString('hex')}'` : s.toString('utf8');
    }
    case 4:
      return Array.from({ length: n }, () => item(r));
    case 5: {
      const entries: [string, unknown][] = [];
      for (let i = 0; i < n; i++) entries.push([String(item(r)), item(r)]);
      return sorted(entries);
    }
    default:
      return { tag: n, value: item(r) };
  }
}

function indefinite(r: Reader, major: number): unknown {
  if (major === 7) return BREAK;
  const parts: unknown[] = [];
  for (let v = item(r); v !== BREAK; v = item(r)) parts.push(v);
  if (major === 2 || major === 3) return parts.join('');
  if (major === 4) return parts;
  if (major === 5) {
    const entries: [string, unknown][] = [];
    for (let i = 0; i < parts.length; i += 2) entries.push([String(parts[i]), parts[i + 1]]);
    return sorted(entries);
  }
  throw new Error(`CBOR: indefinite length for major type ${major}`);
}

function simple(r: Reader, info: number): unknown {
  const b = r.buf;
  const at = r.pos;
  switch (info) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 23:
      return undefined;
    case 24:
      r.pos += 1;
      return { simple: b.readUInt8(at) };
    case 25: {
      r.pos += 2;
      const h = b.readUInt16BE(at);
      const exp = (h >> 10) & 31;
      const mant = h & 1023;
      const v =
        exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant ? NaN : Infinity) : (mant + 1024) * 2 ** (exp - 25);
      return h & 0x8000 ? -v : v;
    }
    case 26:
      r.pos += 4;
      return b.readFloatBE(at);
    case 27:
      r.pos += 8;
      return b.readDoubleBE(at);
    default:
      if (info < 24) return { simple: info };
      throw new Error(`CBOR: simple value ${info}`);
  }
}

function sorted(entries: [string, unknown][]): Record<string, unknown> {
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}
