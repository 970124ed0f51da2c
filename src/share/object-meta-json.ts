import { skipValue } from './json-items.ts';

// A custom resource's metadata as kube-apiserver writes it in a PartialObjectMetadataList. The
// object is unstructured (a Go map: members in sorted key order); `meta.AsPartialObjectMetadata`
// copies it through the Unstructured getters into a metav1.ObjectMeta, which encoding/json writes
// in struct field order, empty members left out (`omitempty`). Every value written here is the
// object's own bytes: strings were escaped by the same encoding/json, maps (labels, annotations,
// fieldsV1) are sorted the same way, so only the members move. Anything the getters would change
// (an unknown member, a value of another type, a timestamp not in Go's own form, a null label)
// is refused: such a list is forwarded.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const ARRAY = 0x5b;
const ARRAY_CLOSE = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

type Kind =
  'string' | 'int' | 'intPointer' | 'time' | 'timePointer' | 'stringMap' | 'strings' | 'owners' | 'entries';

/** metav1.ObjectMeta's members in struct order (k8s.io/apimachinery v0.37.2), each `omitempty`. */
const OBJECT_META: readonly (readonly [string, Kind])[] = [
  ['name', 'string'],
  ['generateName', 'string'],
  ['namespace', 'string'],
  ['selfLink', 'string'],
  ['uid', 'string'],
  ['resourceVersion', 'string'],
  ['generation', 'int'],
  ['creationTimestamp', 'time'],
  ['deletionTimestamp', 'timePointer'],
  ['deletionGracePeriodSeconds', 'intPointer'],
  ['labels', 'stringMap'],
  ['annotations', 'stringMap'],
  ['ownerReferences', 'owners'],
  ['finalizers', 'strings'],
  ['managedFields', 'entries'],
];

/** metav1.OwnerReference: the four strings always written, the two *bool when set. */
const OWNER_REFERENCE: readonly (readonly [string, 'required' | 'bool'])[] = [
  ['apiVersion', 'required'],
  ['kind', 'required'],
  ['name', 'required'],
  ['uid', 'required'],
  ['controller', 'bool'],
  ['blockOwnerDeletion', 'bool'],
];

/** metav1.ManagedFieldsEntry, each `omitempty`; fieldsV1 is its raw JSON (FieldsV1.MarshalJSON). */
const MANAGED_FIELDS_ENTRY: readonly (readonly [string, 'string' | 'timePointer' | 'object'])[] = [
  ['manager', 'string'],
  ['operation', 'string'],
  ['apiVersion', 'string'],
  ['time', 'timePointer'],
  ['fieldsType', 'string'],
  ['fieldsV1', 'object'],
  ['subresource', 'string'],
];

const NAMES = new Map<string, Buffer>();
/** `"name":`, made once per member name. */
function nameOf(name: string): Buffer {
  let b = NAMES.get(name);
  if (b === undefined) {
    b = Buffer.from(`${JSON.stringify(name)}:`);
    NAMES.set(name, b);
  }
  return b;
}
for (const [n] of [...OBJECT_META, ...OWNER_REFERENCE, ...MANAGED_FIELDS_ENTRY]) nameOf(n);

const B_OPEN = Buffer.from('{');
const B_CLOSE = Buffer.from('}');
const B_COMMA = Buffer.from(',');
const B_ARRAY = Buffer.from('[');
const B_ARRAY_CLOSE = Buffer.from(']');
const B_EMPTY_STRING = Buffer.from('""');

/** The output: pieces of buffers, copied once into one buffer at the end (no view made per value). */
class Pieces {
  readonly #bufs: Buffer[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  #length = 0;

  get count(): number {
    return this.#bufs.length;
  }

  add(buf: Buffer, start = 0, end = buf.length): void {
    this.#bufs.push(buf);
    this.#starts.push(start);
    this.#ends.push(end);
    this.#length += end - start;
  }

  /** Drops the pieces added after the first `count`. */
  truncate(count: number): void {
    while (this.#bufs.length > count) {
      this.#bufs.pop();
      this.#length -= this.#ends.pop()! - this.#starts.pop()!;
    }
  }

  bytes(): Buffer {
    const out = Buffer.allocUnsafe(this.#length);
    let at = 0;
    for (let i = 0; i < this.#bufs.length; i++)
      at += this.#bufs[i].copy(out, at, this.#starts[i], this.#ends[i]);
    return out;
  }
}

/** Not reproduced (the caller forwards the list). */
export class Unreproducible extends Error {}

/** The members of the object at b[start, end) (Go's compact JSON: no whitespace) as name → [start, end). */
export function objectMembers(b: Buffer, start: number, end: number): Map<string, [number, number]> {
  if (b[start] !== OPEN || b[end - 1] !== CLOSE) throw new Unreproducible();
  const out = new Map<string, [number, number]>();
  let i = start + 1;
  if (i === end - 1) return out;
  for (;;) {
    if (b[i] !== QUOTE) throw new Unreproducible();
    const nameEnd = skipValue(b, i);
    // Member names here (ObjectMeta's, label and annotation keys) are plain ASCII: no escapes.
    for (let j = i + 1; j < nameEnd - 1; j++)
      if (b[j] >= 0x80 || b[j] === BACKSLASH) throw new Unreproducible();
    const name = b.toString('latin1', i + 1, nameEnd - 1);
    if (b[nameEnd] !== COLON) throw new Unreproducible();
    const vs = nameEnd + 1;
    const ve = skipValue(b, vs);
    if (out.has(name)) throw new Unreproducible();
    out.set(name, [vs, ve]);
    if (ve === end - 1) return out;
    if (b[ve] !== COMMA) throw new Unreproducible();
    i = ve + 1;
  }
}

/** Each element's [start, end) of the array at b[start, end). */
export function arrayElements(b: Buffer, start: number, end: number): [number, number][] {
  if (b[start] !== ARRAY || b[end - 1] !== ARRAY_CLOSE) throw new Unreproducible();
  const out: [number, number][] = [];
  let i = start + 1;
  if (i === end - 1) return out;
  for (;;) {
    const e = skipValue(b, i);
    out.push([i, e]);
    if (e === end - 1) return out;
    if (b[e] !== COMMA) throw new Unreproducible();
    i = e + 1;
  }
}

const isNull = (b: Buffer, s: number, e: number): boolean =>
  e - s === 4 && b.toString('latin1', s, e) === 'null';

/** A JSON string other than "" (which `omitempty` leaves out), or a refusal. */
function nonEmptyString(b: Buffer, s: number, e: number): boolean {
  if (b[s] !== QUOTE) throw new Unreproducible();
  return e - s > 2;
}

const INTEGER = /^-?(0|[1-9][0-9]{0,17})$/;
/** An integer the unstructured decoder holds as an int64 (the getters read no other). */
function integer(b: Buffer, s: number, e: number): string {
  const text = b.toString('latin1', s, e);
  if (!INTEGER.test(text)) throw new Unreproducible();
  return text;
}

const ZERO_TIME = '"0001-01-01T00:00:00Z"';
/** Timestamps already found in Go's form (most objects share a few seconds). */
const goodTimes = new Set<string>();
/**
 * A timestamp metav1.Time writes back as it is (RFC 3339 in UTC, whole seconds), or "" and the
 * zero time, which it leaves out (false).
 */
function timestamp(b: Buffer, s: number, e: number): boolean {
  const text = b.toString('latin1', s, e);
  if (text === '""' || text === ZERO_TIME) return false;
  if (goodTimes.has(text)) return true;
  if (text.length !== 22 || text[0] !== '"' || text[20] !== 'Z') throw new Unreproducible();
  const ms = Date.parse(text.slice(1, -1));
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== `${text.slice(1, 20)}.000Z`)
    throw new Unreproducible();
  if (goodTimes.size >= 1024) goodTimes.clear();
  goodTimes.add(text);
  return true;
}

/** A map of strings, written back whole unless empty (false). */
function stringMap(b: Buffer, s: number, e: number): boolean {
  const m = objectMembers(b, s, e);
  for (const [vs] of m.values()) if (b[vs] !== QUOTE) throw new Unreproducible();
  return m.size > 0;
}

/** A list of strings, written back whole unless empty (false). */
function strings(b: Buffer, s: number, e: number): boolean {
  const els = arrayElements(b, s, e);
  for (const [es] of els) if (b[es] !== QUOTE) throw new Unreproducible();
  return els.length > 0;
}

/** Appends `name:value` (b[s, e); with a comma unless it is the first member) to `out`. */
function member(out: Pieces, first: boolean, name: string, b: Buffer, s = 0, e = b.length): void {
  if (!first) out.add(B_COMMA);
  out.add(nameOf(name));
  out.add(b, s, e);
}

function ownerReference(out: Pieces, b: Buffer, s: number, e: number): void {
  const m = objectMembers(b, s, e);
  let known = 0;
  out.add(B_OPEN);
  for (const [name, kind] of OWNER_REFERENCE) {
    const at = m.get(name);
    if (at !== undefined) known++;
    if (kind === 'required') {
      // Written even when empty; a missing or null one reads as "".
      if (at !== undefined && !isNull(b, at[0], at[1]) && b[at[0]] !== QUOTE) throw new Unreproducible();
      if (at === undefined || isNull(b, at[0], at[1]))
        member(out, name === 'apiVersion', name, B_EMPTY_STRING);
      else member(out, name === 'apiVersion', name, b, at[0], at[1]);
    } else if (at !== undefined && !isNull(b, at[0], at[1])) {
      const v = b.toString('latin1', at[0], at[1]);
      if (v !== 'true' && v !== 'false') throw new Unreproducible();
      member(out, false, name, b, at[0], at[1]);
    }
  }
  if (known !== m.size) throw new Unreproducible();
  out.add(B_CLOSE);
}

function managedFieldsEntry(out: Pieces, b: Buffer, s: number, e: number): void {
  const m = objectMembers(b, s, e);
  let known = 0;
  let first = true;
  out.add(B_OPEN);
  for (const [name, kind] of MANAGED_FIELDS_ENTRY) {
    const at = m.get(name);
    if (at === undefined) continue;
    known++;
    const [vs, ve] = at;
    if (isNull(b, vs, ve)) continue;
    let write: boolean;
    if (kind === 'string') write = nonEmptyString(b, vs, ve);
    else if (kind === 'object') {
      if (b[vs] !== OPEN) throw new Unreproducible();
      write = true;
    } else {
      // A *Time from "" fails the converter, which drops every entry: not reproduced.
      if (!timestamp(b, vs, ve)) throw new Unreproducible();
      write = true;
    }
    if (!write) continue;
    member(out, first, name, b, vs, ve);
    first = false;
  }
  if (known !== m.size) throw new Unreproducible();
  out.add(B_CLOSE);
}

function objectList(
  out: Pieces,
  b: Buffer,
  s: number,
  e: number,
  each: (out: Pieces, b: Buffer, s: number, e: number) => void,
): boolean {
  const els = arrayElements(b, s, e);
  if (els.length === 0) return false;
  out.add(B_ARRAY);
  for (const [i, [es, ee]] of els.entries()) {
    if (i > 0) out.add(B_COMMA);
    each(out, b, es, ee);
  }
  out.add(B_ARRAY_CLOSE);
  return true;
}

/**
 * The metadata at b[start, end) of an unstructured object as metav1.ObjectMeta's JSON, or null
 * when the apiserver's would not be exactly that.
 */
export function objectMetaJSON(b: Buffer, start = 0, end = b.length): Buffer | null {
  try {
    const m = objectMembers(b, start, end);
    const out = new Pieces();
    out.add(B_OPEN);
    let known = 0;
    let first = true;
    for (const [name, kind] of OBJECT_META) {
      const at = m.get(name);
      if (at === undefined) continue;
      known++;
      const [vs, ve] = at;
      if (isNull(b, vs, ve)) continue;
      const mark = out.count;
      if (!first) out.add(B_COMMA);
      out.add(nameOf(name));
      let write: boolean;
      switch (kind) {
        case 'string':
          write = nonEmptyString(b, vs, ve);
          break;
        case 'int':
          write = integer(b, vs, ve) !== '0';
          break;
        case 'intPointer':
          integer(b, vs, ve); // written when set, 0 too
          write = true;
          break;
        case 'time':
        case 'timePointer':
          write = timestamp(b, vs, ve);
          break;
        case 'stringMap':
          write = stringMap(b, vs, ve);
          break;
        case 'strings':
          write = strings(b, vs, ve);
          break;
        case 'owners':
          write = objectList(out, b, vs, ve, ownerReference);
          break;
        case 'entries':
          write = objectList(out, b, vs, ve, managedFieldsEntry);
          break;
      }
      if (!write) {
        out.truncate(mark);
        continue;
      }
      if (kind !== 'owners' && kind !== 'entries') out.add(b, vs, ve);
      first = false;
    }
    if (known !== m.size) return null;
    out.add(B_CLOSE);
    return out.bytes();
  } catch (err) {
    if (err instanceof Unreproducible || (err as Error).name === 'JSONLayoutError') return null;
    throw err;
  }
}
