import { isIPv4, isIPv6 } from 'node:net';

/** An address family BGP carries here: AFI 1 or 2 with SAFI 1 (unicast). */
export type Family = 'ipv4-unicast' | 'ipv6-unicast';

export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;

/** The family's AFI/SAFI pair, as the wire has it. */
export function afiSafi(family: Family): { afi: number; safi: number } {
  return { afi: family === 'ipv4-unicast' ? AFI_IPV4 : AFI_IPV6, safi: SAFI_UNICAST };
}

/** The family of an AFI/SAFI pair, or undefined for one this speaker does not carry. */
export function familyOf(afi: number, safi: number): Family | undefined {
  if (safi !== SAFI_UNICAST) return undefined;
  return afi === AFI_IPV4 ? 'ipv4-unicast' : afi === AFI_IPV6 ? 'ipv6-unicast' : undefined;
}

/** The family of a prefix or address in text form. */
export function familyOfText(text: string): Family {
  return text.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address in text form. */
export function addressBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text)) throw new TypeError(`not an IP address: ${text}`);
  let t = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    t =
      t.slice(0, -v4[1].length) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
  const h = head === '' ? [] : head.split(':');
  const tl = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The text form of 4 or 16 address bytes (IPv6 compressed as RFC 5952 says). */
export function addressText(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i] << 8) | bytes[i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

/** A prefix in CIDR text form with its parts. */
export interface ParsedPrefix {
  readonly family: Family;
  readonly bytes: Buffer;
  readonly length: number;
}

/** Splits "10.0.0.0/24" or "fd00::/64"; host bits are cleared. */
export function parsePrefix(text: string): ParsedPrefix {
  const slash = text.indexOf('/');
  const family = familyOfText(text);
  const max = family === 'ipv4-unicast' ? 32 : 128;
  const length = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(length) || length < 0 || length > max) throw new TypeError(`bad prefix: ${text}`);
  const bytes = addressBytes(slash < 0 ? text : text.slice(0, slash));
  clearHostBits(bytes, length);
  return { family, bytes, length };
}

/** The canonical CIDR text of a prefix. */
export function prefixText(bytes: Uint8Array, length: number): string {
  return `${addressText(bytes)}/${length}`;
}

/** Zeroes the bits past `length` in place. */
export function clearHostBits(bytes: Uint8Array, length: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    bytes[i] &= (0xff00 >> keep) & 0xff;
  }
}

/** The canonical form of a prefix text (host bits cleared, IPv6 compressed). */
export function canonicalPrefix(text: string): string {
  const p = parsePrefix(text);
  return prefixText(p.bytes, p.length);
}
