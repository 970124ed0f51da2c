import { Buffer } from 'node:buffer';

/** One entry of a CRI log file: `<RFC3339Nano> <stdout|stderr> <P|F> <text>`. */
export interface CriLogEntry {
  /** The timestamp as written, and as milliseconds since the epoch (with sub-millisecond fraction). */
  readonly time: string;
  readonly at: number;
  readonly stream: 'stdout' | 'stderr';
  /** `P`: the text continues in the next entry (no newline of its own). */
  readonly partial: boolean;
  readonly text: Buffer;
}

const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 time (any fraction) to epoch milliseconds, or null. */
export function parseRfc3339(s: string): number | null {
  const m = TIME.exec(s);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return ms + (m[2] ? Number(`0.${m[2]}`) * 1000 : 0);
}

/** Go's time.RFC3339Nano layout, which drops trailing zeros of the fraction (kubelet's prefix). */
export function formatRfc3339Nano(s: string): string {
  const m = TIME.exec(s);
  if (!m) return s;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return `${m[1]}${frac ? '.' + frac : ''}${m[3]}`;
}

/** Parses one line (without its newline); null when it is not in CRI format. */
export function parseCriLine(line: Buffer): CriLogEntry | null {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return null;
  const s3 = line.indexOf(0x20, s2 + 1);
  const time = line.toString('latin1', 0, s1);
  const stream = line.toString('latin1', s1 + 1, s2);
  const tag = line.toString('latin1', s2 + 1, s3 < 0 ? line.length : s3);
  const at = parseRfc3339(time);
  if (at === null || (stream !== 'stdout' && stream !== 'stderr')) return null;
  // Tags may carry more fields after a ':' (e.g. "F:x"); the first one is P or F.
  const kind = tag.split(':')[0];
  if (kind !== 'P' && kind !== 'F') return null;
  const text = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  return { time, at, stream, partial: kind === 'P', text };
}

/** Splits a byte stream into lines; keeps an unfinished last line for the next chunk. */
export class LineSplitter {
  #rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const buf = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf(0x0a, start)) >= 0) {
      lines.push(buf.subarray(start, nl));
      start = nl + 1;
    }
    this.#rest = Buffer.from(buf.subarray(start));
    return lines;
  }
}
