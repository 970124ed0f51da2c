import { Buffer } from 'node:buffer';
import { SpdyProtocolError } from './errors.ts';

/** Header names are lower case on the wire; several values of one name are joined by NUL. */
export type SpdyHeaders = Readonly<Record<string, string>>;

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0].writeUInt32BE(entries.length);
  for (const [name, value] of entries) {
    for (const s of [name.toLowerCase(), value]) {
      const bytes = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length);
      parts.push(len, bytes);
    }
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const out: Record<string, string> = {};
  let at = 0;
  const take = (): string => {
    if (block.length < at + 4) throw new SpdyProtocolError('truncated header block');
    const len = block.readUInt32BE(at);
    if (block.length < at + 4 + len) throw new SpdyProtocolError('truncated header block');
    const s = block.toString('utf8', at + 4, at + 4 + len);
    at += 4 + len;
    return s;
  };
  if (block.length < 4) throw new SpdyProtocolError('truncated header block');
  const count = block.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toLowerCase();
    const value = take();
    if (Object.hasOwn(out, name)) throw new SpdyProtocolError(`duplicate header ${name}`);
    out[name] = value;
  }
  return out;
}
