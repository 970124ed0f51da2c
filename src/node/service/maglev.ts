import { createHash } from 'node:crypto';

function hash32(text: string, salt: string): number {
  return createHash('sha256').update(salt).update(text).digest().readUInt32BE(0);
}

/**
 * A Maglev lookup table (Eisenbud et al., NSDI 2016) of `size` slots (a prime) over `backends`
 * (stable names, e.g. `ip:port`): each backend's preference list is `offset + j·skip mod size`,
 * and backends take turns claiming their next free preferred slot until the table is full. Removing
 * one backend moves mostly the slots it held. Returns the backend index of every slot.
 */
export function maglevTable(backends: readonly string[], size: number): number[] {
  const table = new Array<number>(size).fill(-1);
  if (backends.length === 0) return [];
  const offset = backends.map((b) => hash32(b, 'offset') % size);
  const skip = backends.map((b) => (hash32(b, 'skip') % (size - 1)) + 1);
  const next = new Array<number>(backends.length).fill(0);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < backends.length; i++) {
      let c = (offset[i]! + next[i]! * skip[i]!) % size;
      while (table[c]! >= 0) {
        next[i]!++;
        c = (offset[i]! + next[i]! * skip[i]!) % size;
      }
      table[c] = i;
      next[i]!++;
      if (++filled === size) return table;
    }
  }
}

/** The Maglev table size for `n` backends: a prime well above n (at least ~10 slots each). */
export function maglevSize(n: number): number {
  for (const p of [251, 1021, 4093, 16381]) if (p >= 10 * n) return p;
  return 65521;
}
