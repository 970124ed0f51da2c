import type {
  BackendIR,
  FilterIR,
  HeaderModifierIR,
  MirrorIR,
  RedirectIR,
  RewriteIR,
  RouteIR,
  TimeoutsIR,
} from '../ir.ts';
import { CorsPolicy } from './cors.ts';
import { RouteMatcher } from './match.ts';
import { CompiledTrafficPolicy } from './policies/traffic-policy.ts';

/** The header modifiers of a filter list, by direction, names lower-cased. */
class HeaderFilters {
  readonly request: HeaderModifierIR[] = [];
  readonly response: HeaderModifierIR[] = [];

  constructor(filters: readonly FilterIR[]) {
    for (const f of filters) {
      if (f.type === 'RequestHeaderModifier') this.request.push(lowerCased(f.headers));
      else if (f.type === 'ResponseHeaderModifier') this.response.push(lowerCased(f.headers));
    }
  }
}

function lowerCased(m: HeaderModifierIR): HeaderModifierIR {
  const lower = (h: { name: string; value: string }) => ({ name: h.name.toLowerCase(), value: h.value });
  return { set: m.set.map(lower), add: m.add.map(lower), remove: m.remove.map((n) => n.toLowerCase()) };
}

/** One weighted backend of a route, with its own header modifiers. */
export class CompiledBackend {
  /** `ClusterIR.name`; null for an invalid backendRef (500). */
  readonly cluster: string | null;
  readonly requestHeaders: readonly HeaderModifierIR[];
  readonly responseHeaders: readonly HeaderModifierIR[];

  constructor(b: BackendIR) {
    this.cluster = b.cluster;
    const h = new HeaderFilters(b.filters);
    this.requestHeaders = h.request;
    this.responseHeaders = h.response;
  }
}

/** Retry policy with the codes as a set. */
export interface CompiledRetry {
  readonly codes: ReadonlySet<number>;
  readonly attempts: number;
  readonly backoffMs: number;
}

/** A `RouteIR` ready to serve: matcher compiled, filters sorted by what they do, weights summed. */
export class CompiledRoute {
  readonly id: string;
  readonly matcher: RouteMatcher;
  readonly requestHeaders: readonly HeaderModifierIR[];
  readonly responseHeaders: readonly HeaderModifierIR[];
  readonly redirect: RedirectIR | null = null;
  readonly rewrite: RewriteIR | null = null;
  readonly mirrors: readonly MirrorIR[];
  readonly cors: CorsPolicy | null = null;
  readonly directResponse: { readonly status: number; readonly body: string } | null;
  readonly timeouts: TimeoutsIR | null;
  readonly retry: CompiledRetry | null;
  /** Whether a request body is kept in memory (up to the limit) so it can be sent again. */
  readonly replaysBody: boolean;
  /** The TrafficPolicy fields in force; null: none. */
  readonly trafficPolicy: CompiledTrafficPolicy | null;
  readonly #backends: readonly CompiledBackend[];
  /** Running sums of the weights, for a weighted pick. */
  readonly #cumulative: readonly number[];
  readonly #total: number;

  /** Throws on a regular expression JavaScript cannot compile. */
  constructor(r: RouteIR) {
    this.id = r.id;
    this.matcher = new RouteMatcher(r.match);
    const h = new HeaderFilters(r.filters);
    this.requestHeaders = h.request;
    this.responseHeaders = h.response;
    const mirrors: MirrorIR[] = [];
    for (const f of r.filters) {
      if (f.type === 'RequestRedirect' && this.redirect === null) this.redirect = f.redirect;
      else if (f.type === 'URLRewrite' && this.rewrite === null) this.rewrite = f.rewrite;
      else if (f.type === 'RequestMirror' && f.mirror.cluster !== null && f.mirror.percent > 0)
        mirrors.push(f.mirror);
      else if (f.type === 'CORS' && this.cors === null) this.cors = new CorsPolicy(f.cors);
    }
    this.mirrors = mirrors;
    this.directResponse = r.directResponse;
    this.timeouts = r.timeouts;
    this.retry =
      r.retry === null
        ? null
        : { codes: new Set(r.retry.codes), attempts: r.retry.attempts, backoffMs: r.retry.backoffMs };
    this.replaysBody = mirrors.length > 0 || (this.retry !== null && this.retry.attempts > 0);
    this.trafficPolicy = r.trafficPolicy === undefined ? null : new CompiledTrafficPolicy(r.trafficPolicy);
    this.#backends = r.backends.map((b) => new CompiledBackend(b));
    const cumulative: number[] = [];
    let total = 0;
    for (const b of r.backends) {
      total += Math.max(0, b.weight);
      cumulative.push(total);
    }
    this.#cumulative = cumulative;
    this.#total = total;
  }

  /** A backend picked at random by weight; null when there is none or every weight is 0 (500). */
  pickBackend(random: number = Math.random()): CompiledBackend | null {
    const n = this.#backends.length;
    if (n === 0 || this.#total <= 0) return null;
    if (n === 1) return this.#backends[0];
    const x = random * this.#total;
    const c = this.#cumulative;
    for (let i = 0; i < n; i++) if (x < c[i]) return this.#backends[i];
    return this.#backends[n - 1];
  }
}
