import type {
  BackendIR,
  FilterIR,
  HeaderModifierIR,
  MirrorIR,
  RedirectIR,
  RewriteIR,
  RouteIR,
} from '../ir.ts';
import { CorsPolicy } from './cors.ts';
import { RouteMatcher } from './match.ts';
import { BodyTransform } from './policies/body-transform.ts';
import { HeaderTransform } from './policies/header-transform.ts';
import { CompiledTrafficPolicy } from './policies/traffic-policy.ts';
import { compileRetry, compileTimeouts, type CompiledRetry, type CompiledTimeouts } from './retry.ts';

export type { CompiledRetry } from './retry.ts';

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
  /** The rule's timeouts, else its TrafficPolicy's (retry.ts). */
  readonly timeouts: CompiledTimeouts | null;
  /** The rule's retry, else its TrafficPolicy's. */
  readonly retry: CompiledRetry | null;
  /** A TrafficPolicy's header transformation, applied before the route's header filters; null: none. */
  readonly transform: HeaderTransform | null;
  /** A TrafficPolicy's body replacement (request, response or both); null: none. */
  readonly bodyTransform: BodyTransform | null;
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
    // A TrafficPolicy's cors, retry and timeouts fill in what the route does not set itself.
    const p = r.trafficPolicy;
    if (this.cors === null && p?.cors !== undefined) this.cors = new CorsPolicy(p.cors);
    this.timeouts = compileTimeouts(r.timeouts, p?.timeouts, p?.retry, r.retry !== null);
    this.retry = compileRetry(r.retry, p?.retry);
    this.transform = p?.transformation === undefined ? null : new HeaderTransform(p.transformation);
    this.bodyTransform = BodyTransform.of(p?.transformation);
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
