/**
 * Hostnames to values, looked up the Gateway API way: an exact name first, then the longest
 * wildcard (`*.example.com` matches one or more labels in front of `example.com`, never
 * `example.com` itself), then the catch-all (`null` or `*`). The first value added for a name wins.
 */
export class HostTable<T> {
  readonly #exact = new Map<string, T>();
  /** `.example.com` suffixes, longest first (insertion order among equal lengths). */
  readonly #wildcards: { readonly suffix: string; readonly value: T }[] = [];
  #any: T | undefined = undefined;

  add(hostname: string | null, value: T): void {
    if (hostname === null || hostname === '*') {
      if (this.#any === undefined) this.#any = value;
      return;
    }
    const name = hostname.toLowerCase();
    if (name.startsWith('*.')) {
      const suffix = name.slice(1);
      if (this.#wildcards.some((w) => w.suffix === suffix)) return;
      let i = this.#wildcards.length;
      while (i > 0 && this.#wildcards[i - 1].suffix.length < suffix.length) i--;
      this.#wildcards.splice(i, 0, { suffix, value });
      return;
    }
    if (!this.#exact.has(name)) this.#exact.set(name, value);
  }

  /** The value for a lower-case host without port (see `requestHost`). */
  lookup(host: string): T | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    const w = this.#wildcards;
    for (let i = 0; i < w.length; i++) {
      const s = w[i].suffix;
      if (host.length > s.length && host.endsWith(s)) return w[i].value;
    }
    return this.#any;
  }

  get size(): number {
    return this.#exact.size + this.#wildcards.length + (this.#any === undefined ? 0 : 1);
  }
}

/** The host of a Host header (or SNI name): lower-case, without port or trailing dot; `''` if none. */
export function requestHost(value: string | undefined): string {
  if (value === undefined || value === '') return '';
  let end: number;
  if (value.charCodeAt(0) === 91 /* '[' */) {
    const close = value.indexOf(']');
    end = close < 0 ? value.length : close + 1;
  } else {
    const colon = value.indexOf(':');
    end = colon < 0 ? value.length : colon;
  }
  if (end > 0 && value.charCodeAt(end - 1) === 46 /* '.' */) end--;
  const host = end === value.length ? value : value.slice(0, end);
  return host.toLowerCase();
}
