/** The label value every value beyond a `BoundedLabel`'s cap is counted under. */
export const OTHER = 'other';

/**
 * Keeps a label's distinct values bounded: the first `max` distinct values are kept as they are,
 * every later one becomes `other`, so a client inventing paths or users cannot grow the number of
 * series (Prometheus keeps every series it ever saw until it goes stale). An optional allow-list
 * admits only known values (e.g. Kubernetes verbs) and maps the rest to `other` at once.
 */
export class BoundedLabel {
  readonly max: number;
  readonly #seen = new Set<string>();
  readonly #allowed: ReadonlySet<string> | null;

  constructor(max: number, allowed?: Iterable<string>) {
    if (!Number.isInteger(max) || max < 0)
      throw new RangeError(`The "max" option must be an integer >= 0. Received ${max}`);
    this.max = max;
    this.#allowed = allowed === undefined ? null : new Set(allowed);
  }

  /** The value to use as the label for `value`. */
  value(value: string): string {
    if (this.#allowed !== null) return this.#allowed.has(value) ? value : OTHER;
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.max) return OTHER;
    this.#seen.add(value);
    return value;
  }

  /** Forgets admitted values not in `live` (their series were removed), freeing their places under the cap. */
  retain(live: ReadonlySet<string>): void {
    for (const v of this.#seen) if (!live.has(v)) this.#seen.delete(v);
  }

  /** Distinct values admitted so far. */
  get size(): number {
    return this.#seen.size;
  }
}

/** Kubernetes request verbs (RequestInfo.verb) and the lowercase HTTP methods of non-resource requests. */
export const VERBS: readonly string[] = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'proxy',
  'connect',
  'head',
  'options',
  'post',
  'put',
  'trace',
];
