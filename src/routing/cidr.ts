// Client address ranges, compared as 32-bit words rather than with node:net's BlockList:
// `BlockList.check()` builds a SocketAddress (a native object) for every string it is given, and this
// runs per request. IPv4-mapped IPv6 is IPv4, for client addresses and for ranges alike
// (`::ffff:10.0.0.0/104` = 10.0.0.0/8); other IPv6 ranges (even `::/0`) never hold for IPv4 clients.

import { parseAddress, V4, V6 } from './ip-address.ts';

/** Scratch for one parsed address: word 0 for IPv4, words 0–3 (big-endian) for IPv6. */
const scratch = new Uint32Array(4);
// The client address last parsed into `scratch`: every clientCIDRs field of a table sees the same
// string for one request (and a connection's requests share it), so it is parsed once, not per rule.
let scratchText = '';
let scratchFamily = 0;

/** Parses `address` into `scratch` unless it is already there; answers its family (0: not one). */
function load(address: string): number {
  if (address !== scratchText) {
    scratchFamily = parseAddress(address, scratch);
    scratchText = address;
  }
  return scratchFamily;
}

/** `10.0.0.0/8`, `2001:db8::/32` or a single address; null when it is not one of those. */
export function parseCIDR(text: string): { family: 4 | 6; words: number[]; bits: number } | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  if (addr.includes('%')) return null;
  const out = new Uint32Array(4);
  const family = parseAddress(addr, out);
  if (family === 0) return null;
  const v4 = family === V4;
  const mapped = v4 && addr.includes(':');
  let bits = v4 && !mapped ? 32 : 128;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(b) || Number(b) > bits) return null;
    bits = Number(b);
  }
  if (mapped) {
    // A range wider than ::ffff:0:0/96 is an IPv6 range that contains the mapped space; keep it IPv6.
    if (bits < 96) return { family: 6, words: [0, 0, 0xffff, out[0]], bits };
    bits -= 96;
  }
  const words = v4 ? [out[0]] : [out[0], out[1], out[2], out[3]];
  for (let w = 0; w < words.length; w++) words[w] = (words[w] & maskWord(bits, w)) >>> 0;
  return { family: v4 ? 4 : 6, words, bits };
}

/** The mask of 32-bit word `w` of a prefix `bits` long. */
function maskWord(bits: number, w: number): number {
  const inWord = bits - 32 * w;
  if (inWord >= 32) return 0xffffffff;
  if (inWord <= 0) return 0;
  return (0xffffffff << (32 - inWord)) >>> 0;
}

/** A compiled `clientCIDRs` list. Throws a RangeError on an entry checkRule would have reported. */
export class CIDRList {
  /** The entries as written, in order (for explanations). */
  readonly sources: readonly string[];
  /** Per IPv4 range: network, mask. */
  readonly #v4: Uint32Array;
  /** Per IPv6 range: network words 0–3, mask words 0–3. */
  readonly #v6: Uint32Array;
  /** Per source, in order: [family, offset into #v4 or #v6]. */
  readonly #index: readonly (readonly [number, number])[];

  constructor(entries: readonly string[]) {
    this.sources = Object.freeze([...entries]);
    const v4: number[] = [];
    const v6: number[] = [];
    const index: [number, number][] = [];
    for (const e of entries) {
      const c = parseCIDR(e);
      if (c === null) throw new RangeError(`"${e}" is not an address range like 10.0.0.0/8 or 2001:db8::/32`);
      if (c.family === V4) {
        index.push([V4, v4.length]);
        v4.push(c.words[0], maskWord(c.bits, 0));
      } else {
        index.push([V6, v6.length]);
        v6.push(
          ...c.words,
          maskWord(c.bits, 0),
          maskWord(c.bits, 1),
          maskWord(c.bits, 2),
          maskWord(c.bits, 3),
        );
      }
    }
    this.#v4 = Uint32Array.from(v4);
    this.#v6 = Uint32Array.from(v6);
    this.#index = index;
  }

  /** True when `address` lies in one of the ranges; false also when it is not an address. */
  has(address: string): boolean {
    const family = load(address);
    if (family === V4) {
      const a = scratch[0];
      const r = this.#v4;
      for (let i = 0; i < r.length; i += 2) if ((a & r[i + 1]) >>> 0 === r[i]) return true;
    } else if (family === V6) {
      const r = this.#v6;
      for (let i = 0; i < r.length; i += 8) if (inV6(r, i)) return true;
    }
    return false;
  }

  /** The index of the first range `address` lies in; -1 when none; -2 when it is not an address. */
  find(address: string): number {
    const family = load(address);
    if (family === 0) return -2;
    return this.#index.findIndex(([f, at]) =>
      f !== family
        ? false
        : f === V4
          ? (scratch[0] & this.#v4[at + 1]) >>> 0 === this.#v4[at]
          : inV6(this.#v6, at),
    );
  }
}

function inV6(r: Uint32Array, at: number): boolean {
  for (let w = 0; w < 4; w++) if ((scratch[w] & r[at + 4 + w]) >>> 0 !== r[at + w]) return false;
  return true;
}
