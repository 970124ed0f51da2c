// Total readers for untrusted object fields: each answers a well-typed value (or undefined) for any
// input, so the translator never throws on a missing field, a wrong type or a null.

/** The value if it is a string. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The value if it is a non-empty string. */
export function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The value if it is a safe integer. */
export function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

/** The value if it is a boolean. */
export function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

/** The value if it is an array (holes read as undefined), else an empty one. */
export function arr(v: unknown): readonly unknown[] {
  if (!Array.isArray(v)) return [];
  for (let i = 0; i < v.length; i++) if (!(i in v)) return Array.from(v);
  return v;
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

/** The value if it is a plain object (not null, not an array), else an empty one. */
export function rec(v: unknown): Readonly<Record<string, unknown>> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : EMPTY;
}

/** True when the field holds an object (the field was given), whatever its content. */
export function has(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The string-valued entries of an object (labels, Secret data), in a prototype-less object. */
export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, val] of Object.entries(rec(v))) if (typeof val === 'string') out[k] = val;
  return out;
}

/** The string entries of an array. */
export function strs(v: unknown): string[] {
  return arr(v).filter((x): x is string => typeof x === 'string');
}

/** `metadata` of an object, read totally. */
export interface Meta {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  /** Milliseconds since the epoch; +Infinity when absent or unreadable (sorts last). */
  readonly created: number;
  readonly labels: Record<string, string>;
  /** `namespace/name`. */
  readonly key: string;
}

// Objects are read, never changed (see `TranslateInput`), so an object's metadata is read once.
const metas = new WeakMap<object, Meta>();

export function meta(obj: unknown): Meta {
  if (obj === null || typeof obj !== 'object') return readMeta(obj);
  let m = metas.get(obj);
  if (m === undefined) metas.set(obj, (m = Object.freeze(readMeta(obj))));
  return m;
}

function readMeta(obj: unknown): Meta {
  const m = rec(rec(obj).metadata);
  const t = Date.parse(str(m.creationTimestamp) ?? '');
  const namespace = str(m.namespace) ?? '';
  const name = str(m.name) ?? '';
  return {
    namespace,
    name,
    generation: int(m.generation) ?? 0,
    created: Number.isFinite(t) ? t : Number.POSITIVE_INFINITY,
    labels: strMap(m.labels),
    key: keyOf({ namespace, name }),
  };
}

/** Orders objects oldest first, then by `namespace/name`. */
export function byAgeThenName(a: Meta, b: Meta): number {
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  return compareStrings(a.key, b.key);
}

/** `namespace/name`. */
export function keyOf(m: { namespace: string; name: string }): string {
  return `${m.namespace}/${m.name}`;
}

/** Code-unit order, independent of the locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders two values by their JSON text: a last, total tie-break between otherwise equal objects. */
export function compareJSON(a: unknown, b: unknown): number {
  return compareStrings(jsonText(a), jsonText(b));
}

function jsonText(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return ''; // cycles or BigInts: not Kubernetes objects
  }
}

/**
 * The objects by `key`; when the input repeats a key, the copy whose JSON sorts first wins, so the
 * answer does not depend on the order of the input.
 */
export function indexBy(objects: readonly unknown[], key: (o: unknown) => string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const o of objects) {
    const k = key(o);
    if (!out.has(k) || compareJSON(o, out.get(k)) < 0) out.set(k, o);
  }
  return out;
}
