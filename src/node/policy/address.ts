// IPv4 and IPv6 addresses as bigints, and the interval arithmetic ipBlock needs: a CIDR minus its
// `except` CIDRs, several blocks unioned, the result written back as CIDR elements of an nft
// interval set (which rejects overlapping elements, so the set's elements must be disjoint).

export type IPFamily = 4 | 6;

/** An inclusive range of addresses of one family. */
export interface AddressRange {
  readonly family: IPFamily;
  readonly first: bigint;
  readonly last: bigint;
}

const bits = (family: IPFamily): number => (family === 4 ? 32 : 128);

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256n + BigInt(part);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const items = half.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i] ?? '';
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  let value = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail])
    value = (value << 16n) | BigInt(g);
  return value;
}

/** Parses an IPv4 or IPv6 address; undefined when it is neither. */
export function parseAddress(text: string): { family: IPFamily; value: bigint } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = text.includes(':') ? parseIPv6(text) : undefined;
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** Parses `addr/len` into the range it covers (host bits are ignored, as Kubernetes' parser does). */
export function parseCIDR(text: string): AddressRange | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  const width = bits(address.family);
  if (length > width) return undefined;
  const hostMask = (1n << BigInt(width - length)) - 1n;
  return { family: address.family, first: address.value & ~hostMask, last: address.value | hostMask };
}

/** Whether `address` lies in `range`. */
export function rangeContains(range: AddressRange, family: IPFamily, value: bigint): boolean {
  return range.family === family && range.first <= value && value <= range.last;
}

/** Sorted, merged, disjoint ranges covering the union of `ranges` (one family). */
export function mergeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const prev = out.at(-1);
    if (prev !== undefined && r.first <= prev.last + 1n) {
      if (r.last > prev.last) out[out.length - 1] = { family: prev.family, first: prev.first, last: r.last };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** `range` minus every range of `holes` (any family; other families are ignored). */
export function subtractRanges(range: AddressRange, holes: readonly AddressRange[]): AddressRange[] {
  let pieces: AddressRange[] = [range];
  for (const hole of holes) {
    if (hole.family !== range.family) continue;
    const next: AddressRange[] = [];
    for (const p of pieces) {
      if (hole.last < p.first || hole.first > p.last) {
        next.push(p);
        continue;
      }
      if (hole.first > p.first) next.push({ family: p.family, first: p.first, last: hole.first - 1n });
      if (hole.last < p.last) next.push({ family: p.family, first: hole.last + 1n, last: p.last });
    }
    pieces = next;
  }
  return pieces;
}

/** Writes an address in its usual text form (IPv6 compressed per RFC 5952). */
export function formatAddress(family: IPFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // The longest run (of at least two) of zero groups becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** The fewest CIDR blocks covering exactly `range`, written as nft elements (`a.b.c.d` for a /32). */
export function rangeToElements(range: AddressRange): string[] {
  const width = bits(range.family);
  const out: string[] = [];
  let first = range.first;
  while (first <= range.last) {
    // Grow the block while it stays aligned at `first` and inside the range.
    let size = 0;
    while (size < width) {
      const next = size + 1;
      const block = 1n << BigInt(next);
      if ((first & (block - 1n)) !== 0n || first + block - 1n > range.last) break;
      size = next;
    }
    const text = formatAddress(range.family, first);
    out.push(size === 0 ? text : `${text}/${width - size}`);
    first += 1n << BigInt(size);
  }
  return out;
}
