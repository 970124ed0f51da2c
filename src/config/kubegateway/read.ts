import type { TranslationReport } from './report.ts';

// Reading an untyped KubeGateway object field by field. A value of the wrong type is reported at its
// path and treated as absent, so one bad field never hides the rest of the translation. `null` is
// absent, as Go's encoding/json reads it.

/** A JSON object. */
export type Obj = Record<string, unknown>;

/** `a.b` + `c` → `a.b.c`. */
export function child(path: string, key: string): string {
  if (path === '') return key;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** `a.b` + 2 → `a.b[2]`. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** True for a plain JSON object. */
export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object at `path`, or undefined when absent or not an object (reported). */
export function objectAt(v: unknown, path: string, report: TranslationReport): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObj(v)) return v;
  report.unsupportedAt(path, `expected an object, found ${describe(v)}; ignored`);
  return undefined;
}

/** The list at `path`, or undefined when absent or not a list (reported). */
export function listAt(v: unknown, path: string, report: TranslationReport): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v;
  report.unsupportedAt(path, `expected a list, found ${describe(v)}; ignored`);
  return undefined;
}

/** The strings of the list at `path` with their indexes; other entries are reported and skipped. */
export function stringsAt(
  v: unknown,
  path: string,
  report: TranslationReport,
): { value: string; at: string }[] {
  const list = listAt(v, path, report) ?? [];
  const out: { value: string; at: string }[] = [];
  list.forEach((e, i) => {
    if (typeof e === 'string') out.push({ value: e, at: index(path, i) });
    else report.unsupportedAt(index(path, i), `expected a string, found ${describe(e)}; ignored`);
  });
  return out;
}

/** The string at `path`, or undefined when absent or not a string (reported). */
export function stringAt(v: unknown, path: string, report: TranslationReport): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  report.unsupportedAt(path, `expected a string, found ${describe(v)}; ignored`);
  return undefined;
}

/** The integer at `path`, or undefined when absent or not an integer (reported). */
export function integerAt(v: unknown, path: string, report: TranslationReport): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  report.unsupportedAt(path, `expected an integer, found ${describe(v)}; ignored`);
  return undefined;
}

/** The boolean at `path`, or undefined when absent or not a boolean (reported). */
export function booleanAt(v: unknown, path: string, report: TranslationReport): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  report.unsupportedAt(path, `expected true or false, found ${describe(v)}; ignored`);
  return undefined;
}

/** Reports every key of `o` that proxy.kubegateway.io/v1alpha1 does not define at `path`. */
export function reportUnknownKeys(
  o: Obj,
  known: readonly string[],
  path: string,
  report: TranslationReport,
): void {
  for (const key of Object.keys(o))
    if (!known.includes(key))
      report.unsupportedAt(
        child(path, key),
        `not a field of proxy.kubegateway.io/v1alpha1 at this place (known: ${known.join(', ')}); ignored`,
      );
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}
