import { parsePrefix, prefixText, type Family } from './address.ts';

/** Prefixes in NLRI form (RFC 4271 §4.3): a length octet then the fewest octets that hold it. */
export function encodeNlri(prefixes: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const text of prefixes) {
    const p = parsePrefix(text);
    const octets = Math.ceil(p.length / 8);
    parts.push(Buffer.from([p.length]), p.bytes.subarray(0, octets));
  }
  return Buffer.concat(parts);
}

/** The encoded size of one prefix in NLRI form. */
export function nlriSize(prefix: string): number {
  return 1 + Math.ceil(parsePrefix(prefix).length / 8);
}

/** Decodes NLRI of one family, or returns undefined when a length or the octets are wrong. */
export function decodeNlri(buf: Buffer, family: Family): string[] | undefined {
  const width = family === 'ipv4-unicast' ? 4 : 16;
  const out: string[] = [];
  for (let at = 0; at < buf.length;) {
    const length = buf[at];
    const octets = Math.ceil(length / 8);
    if (length > width * 8 || at + 1 + octets > buf.length) return undefined;
    const bytes = Buffer.alloc(width);
    buf.copy(bytes, 0, at + 1, at + 1 + octets);
    // Trailing bits past the length are ignored (RFC 4271 §4.3), so cleared here.
    if (octets > 0 && length % 8 !== 0) bytes[octets - 1] &= (0xff00 >> (length % 8)) & 0xff;
    out.push(prefixText(bytes, length));
    at += 1 + octets;
  }
  return out;
}
