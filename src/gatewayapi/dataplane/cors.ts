import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { CorsIR } from '../ir.ts';
import type { HeaderMap } from './headers.ts';

/** An origin as scheme, lower-case host and port (the scheme's default when not given). */
interface Origin {
  readonly scheme: string;
  readonly host: string;
  readonly port: string;
}

function parseOrigin(value: string): Origin | null {
  const sep = value.indexOf('://');
  if (sep <= 0) return null;
  const scheme = value.slice(0, sep).toLowerCase();
  let rest = value.slice(sep + 3);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest === '' || rest.includes('/')) return null;
  const close = rest.lastIndexOf(']');
  const colon = rest.lastIndexOf(':');
  let host = rest;
  let port = scheme === 'https' ? '443' : scheme === 'http' ? '80' : '';
  if (colon > close) {
    host = rest.slice(0, colon);
    port = rest.slice(colon + 1);
  }
  return { scheme, host: host.toLowerCase(), port };
}

/** One `allowOrigins` entry; `*` in the host matches any labels to its left (greedy). */
class OriginPattern {
  readonly #o: Origin;
  /** The part after a leading `*`, or null for an exact host. */
  readonly #suffix: string | null;

  constructor(o: Origin) {
    this.#o = o;
    this.#suffix = o.host.startsWith('*') ? o.host.slice(1) : null;
  }

  test(o: Origin): boolean {
    const p = this.#o;
    if (p.scheme !== o.scheme || p.port !== o.port) return false;
    const s = this.#suffix;
    if (s === null) return p.host === o.host;
    return o.host.length > s.length && o.host.endsWith(s);
  }
}

/** The actual-request and preflight behaviour of one CORS filter. */
export class CorsPolicy {
  readonly #anyOrigin: boolean;
  readonly #origins: readonly OriginPattern[];
  readonly #anyMethod: boolean;
  readonly #methods: string | null;
  readonly #anyHeader: boolean;
  readonly #headers: string | null;
  readonly #expose: string | null;
  readonly #credentials: boolean;
  readonly #maxAge: string;

  constructor(c: CorsIR) {
    this.#anyOrigin = c.allowOrigins.includes('*');
    const origins: OriginPattern[] = [];
    for (const o of c.allowOrigins) {
      const parsed = o === '*' ? null : parseOrigin(o);
      if (parsed !== null) origins.push(new OriginPattern(parsed));
    }
    this.#origins = origins;
    this.#anyMethod = c.allowMethods.includes('*');
    this.#methods = c.allowMethods.length > 0 ? c.allowMethods.join(', ') : null;
    this.#anyHeader = c.allowHeaders.includes('*');
    this.#headers = c.allowHeaders.length > 0 ? c.allowHeaders.join(', ') : null;
    const anyExpose = c.exposeHeaders.includes('*');
    // With credentials a `*` would be taken literally by browsers, so it is not sent.
    this.#expose =
      c.exposeHeaders.length === 0 || (anyExpose && c.allowCredentials) ? null : c.exposeHeaders.join(', ');
    this.#credentials = c.allowCredentials;
    this.#maxAge = String(c.maxAge);
  }

  /** Whether the request's `Origin` is allowed. */
  allows(origin: string): boolean {
    if (this.#anyOrigin) return true;
    const o = parseOrigin(origin);
    if (o === null) return false;
    for (const p of this.#origins) if (p.test(o)) return true;
    return false;
  }

  /**
   * The answer to a preflight: 204 with the allow headers when the origin is allowed, without any
   * CORS header otherwise (the spec allows 200/204 without them, or 403). Wildcards are answered
   * with what was asked for, which is right with and without credentials.
   */
  preflight(h: IncomingHttpHeaders): { status: number; headers: OutgoingHttpHeaders } {
    const origin = h.origin as string;
    const out: OutgoingHttpHeaders = { vary: 'Origin', 'content-length': '0' };
    if (!this.allows(origin)) return { status: 204, headers: out };
    out['access-control-allow-origin'] = origin;
    if (this.#credentials) out['access-control-allow-credentials'] = 'true';
    const method = h['access-control-request-method'];
    const methods = this.#anyMethod ? method : this.#methods;
    if (methods !== undefined && methods !== null) out['access-control-allow-methods'] = methods;
    const asked = h['access-control-request-headers'];
    const headers = this.#anyHeader ? asked : this.#headers;
    if (headers !== undefined && headers !== null && headers !== '')
      out['access-control-allow-headers'] = headers;
    if (this.#expose !== null) out['access-control-expose-headers'] = this.#expose;
    out['access-control-max-age'] = this.#maxAge;
    return { status: 204, headers: out };
  }

  /** Adds the CORS headers of an actual request's response (`origin` already checked with `allows`). */
  decorate(origin: string, h: HeaderMap): void {
    h['access-control-allow-origin'] = [origin];
    if (this.#credentials) h['access-control-allow-credentials'] = ['true'];
    if (this.#expose !== null) h['access-control-expose-headers'] = [this.#expose];
    const vary = h.vary;
    if (vary === undefined) h.vary = ['Origin'];
    else if (!varies(vary)) vary.push('Origin');
  }
}

const VARY_ORIGIN = /(^|[\s,])(origin|\*)([\s,]|$)/i;

function varies(vary: readonly string[]): boolean {
  for (let i = 0; i < vary.length; i++) if (VARY_ORIGIN.test(vary[i])) return true;
  return false;
}

/** Whether a request is a CORS preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`). */
export function isPreflight(method: string, h: IncomingHttpHeaders): boolean {
  return method === 'OPTIONS' && h.origin !== undefined && h['access-control-request-method'] !== undefined;
}
