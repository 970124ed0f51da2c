// IP addresses parsed by hand, without allocating: the client address is parsed per request.
// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket reports for an IPv4 peer)
// comes out as IPv4.

/** The family parseAddress answers for IPv4 (including IPv4-mapped IPv6). */
export const V4 = 4;
/** The family parseAddress answers for IPv6. */
export const V6 = 6;

const groups = new Uint16Array(8);

/**
 * Parses `text` into `out` and answers 4, 6, or 0 when it is not an address. Accepts the forms
 * node:net's isIP accepts (dotted quad; IPv6 with `::` and an embedded dotted quad; a `%zone`, ignored).
 * Allocation-free.
 */
export function parseAddress(text: string, out: Uint32Array): number {
  let end = text.indexOf('%');
  if (end < 0) end = text.length;
  else if (!validZone(text, end + 1)) return 0;
  if (text.indexOf(':') < 0) {
    if (end !== text.length) return 0;
    const v = parseV4(text, 0, end);
    if (v < 0) return 0;
    out[0] = v;
    return V4;
  }
  if (!parseV6(text, end)) return 0;
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    out[0] = ((groups[6] << 16) | groups[7]) >>> 0;
    return V4;
  }
  for (let i = 0; i < 4; i++) out[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return V6;
}

/** A dotted quad between `start` and `end` as an unsigned 32-bit number, or -1. */
function parseV4(s: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    const first = i;
    let n = 0;
    while (i < end && i - first < 3) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
      i++;
    }
    // No digits, a leading zero (node:net rejects `01.2.3.4` as ambiguous octal), or > 255.
    if (i === first || (i - first > 1 && s.charCodeAt(first) === 48) || n > 255) return -1;
    value = value * 256 + n;
    octets++;
    if (octets < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

/** Fills `groups` from the IPv6 text in [0, end); false when it is not one. */
function parseV6(s: string, end: number): boolean {
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (i === end) return fill(n, gap);
  }
  for (;;) {
    const first = i;
    let g = 0;
    while (i < end && i - first < 5) {
      const h = hexDigit(s.charCodeAt(i));
      if (h < 0) break;
      g = g * 16 + h;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // An embedded dotted quad ends the address and takes the last two groups.
      if (n > 6) return false;
      const v = parseV4(s, first, end);
      if (v < 0) return false;
      groups[n++] = v >>> 16;
      groups[n++] = v & 0xffff;
      return fill(n, gap);
    }
    if (i === first || i - first > 4 || n === 8) return false;
    groups[n++] = g;
    if (i === end) return fill(n, gap);
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i === end) return fill(n, gap);
    } else if (i === end) {
      return false;
    }
  }
}

/** Moves the groups after a `::` to the end and zeroes the gap; false when the count is wrong. */
function fill(n: number, gap: number): boolean {
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  const tail = n - gap;
  for (let k = 1; k <= tail; k++) groups[8 - k] = groups[n - k];
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

/** node:net's zone: `%` then one or more of [0-9a-zA-Z-.:]. */
function validZone(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // 0-9 and ':' (48–58), A-Z, a-z, '-', '.'.
    const ok = (c >= 48 && c <= 58) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46;
    if (!ok) return false;
  }
  return true;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
