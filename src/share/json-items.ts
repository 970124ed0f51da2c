/** JSON the gateway reads without re-serializing: the exact bytes of a list's items and of a watch event's object. */
export class JSONLayoutError extends Error {
  override name = 'JSONLayoutError';
  readonly code = 'KG_JSON_LAYOUT';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length && isSpace(b[i])) i++;
  return i;
}

/** The index just past the JSON value that starts at `i` (no whitespace before it). */
export function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < b.length; j++) {
      const d = b[j];
      if (d === QUOTE) j = skipString(b, j) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new JSONLayoutError('unterminated JSON value');
  }
  let j = i;
  while (j < b.length && !isSpace(b[j]) && b[j] !== 0x2c && b[j] !== 0x7d && b[j] !== 0x5d) j++;
  if (j === i) throw new JSONLayoutError(`no JSON value at ${i}`);
  return j;
}

function skipString(b: Buffer, i: number): number {
  for (let j = i + 1; j < b.length; j++) {
    if (b[j] === BACKSLASH) j++;
    else if (b[j] === QUOTE) return j + 1;
  }
  throw new JSONLayoutError('unterminated JSON string');
}

/** One member of a JSON object: its name and where its value's bytes are. */
export interface Member {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** The members of the object at `i`, in the order they were written. */
export function members(b: Buffer, i = 0): Member[] {
  i = skipSpace(b, i);
  if (b[i] !== 0x7b) throw new JSONLayoutError('not a JSON object');
  const out: Member[] = [];
  i = skipSpace(b, i + 1);
  if (b[i] === 0x7d) return out;
  for (;;) {
    const nameEnd = skipString(b, i);
    const name = JSON.parse(b.toString('utf8', i, nameEnd)) as string;
    i = skipSpace(b, nameEnd);
    if (b[i] !== 0x3a) throw new JSONLayoutError('no colon after a member name');
    const start = skipSpace(b, i + 1);
    const end = skipValue(b, start);
    out.push({ name, start, end });
    i = skipSpace(b, end);
    if (b[i] === 0x7d) return out;
    if (b[i] !== 0x2c) throw new JSONLayoutError('no comma between members');
    i = skipSpace(b, i + 1);
  }
}

/** The elements of the array at `b[start, end)`, each a view into `b`. */
export function elements(b: Buffer, start: number, end: number): Buffer[] {
  if (b[start] !== 0x5b) throw new JSONLayoutError('not a JSON array');
  const out: Buffer[] = [];
  let i = skipSpace(b, start + 1);
  if (b[i] === 0x5d) return out;
  for (;;) {
    const e = skipValue(b, i);
    out.push(b.subarray(i, e));
    i = skipSpace(b, e);
    if (b[i] === 0x5d) {
      if (i !== end - 1) throw new JSONLayoutError('bytes after a JSON array');
      return out;
    }
    if (b[i] !== 0x2c) throw new JSONLayoutError('no comma between elements');
    i = skipSpace(b, i + 1);
  }
}

// A watch event's object carries kind and apiVersion first; a typed list's items carry neither.
const TYPE_META = /^\{"kind":"[^"\\]*","apiVersion":"[^"\\]*",/;

/**
 * A built-in type's object as a list item: kube-apiserver encodes a typed list's items without
 * `kind` and `apiVersion`, whereas a watch event's object has them first. Throws when the
 * object does not start that way.
 */
export function withoutTypeMeta(object: Buffer): Buffer {
  const head = object.toString('latin1', 0, Math.min(object.length, 512));
  const m = TYPE_META.exec(head);
  if (m === null) throw new JSONLayoutError('a watch object without kind and apiVersion first');
  const rest = object.subarray(m[0].length);
  return Buffer.concat([Buffer.from('{'), rest]);
}
