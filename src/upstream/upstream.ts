import { createHash } from 'node:crypto';
import type { Balancer } from './balancers/index.ts';
import { Endpoint } from './endpoint.ts';
import { HealthCheck, type HealthCheckOptions } from './health-check.ts';
import type { RewatchPacer } from './rewatch-pacer.ts';
import type { UpstreamTLS } from './session-pool.ts';

/** One replica as configuration describes it. */
export interface EndpointSpec {
  name: string;
  url: string;
}

/** How every endpoint of an upstream is reached and checked. */
export interface UpstreamOptions {
  tls: UpstreamTLS;
  pingIntervalMs: number;
  health: HealthCheckOptions;
  onChange?: (ep: Endpoint) => void;
}

/** The endpoints a rule may use, with the healthy ones kept current. */
export class UpstreamSubset {
  readonly names: ReadonlySet<string>;
  healthy: readonly Endpoint[] = [];
  constructor(names: readonly string[]) {
    this.names = new Set(names);
  }
}

interface Member {
  readonly endpoint: Endpoint;
  readonly check: HealthCheck;
  readonly key: string;
}

/**
 * The replicas of one cluster, their health, and the balancer that spreads requests over them.
 * Built anew on every configuration change; endpoints whose address, credentials and checks did
 * not change are carried over from the previous Upstream with their sessions, health and counters.
 */
export class Upstream {
  readonly endpoints: readonly Endpoint[];
  readonly balancer: Balancer;
  readonly #members: readonly Member[];
  readonly #fresh: readonly Member[];
  /** By the names they list: rules that name the same endpoints share one. */
  readonly #subsets = new Map<string, UpstreamSubset>();
  readonly #onChange: ((ep: Endpoint) => void) | undefined;
  #healthy: Endpoint[] = [];
  /** The Upstream that replaced this one (null: none, the cluster is gone); undefined while serving. */
  #successor: Upstream | null | undefined = undefined;

  constructor(
    specs: readonly EndpointSpec[],
    balancer: Balancer,
    opts: UpstreamOptions,
    previous?: Upstream,
  ) {
    this.balancer = balancer;
    this.#onChange = opts.onChange;
    const reuse = new Map(previous ? previous.#members.map((m) => [m.key, m]) : []);
    const material = digest(opts.tls);
    const fresh: Member[] = [];
    this.#members = specs.map((s) => {
      const key = JSON.stringify([s.name, s.url, material, opts.pingIntervalMs, opts.health]);
      const old = reuse.get(key);
      if (old) return old;
      const endpoint = new Endpoint(s.name, s.url, opts.tls, { pingIntervalMs: opts.pingIntervalMs });
      const m = { endpoint, check: new HealthCheck(endpoint, opts.health), key };
      fresh.push(m);
      return m;
    });
    this.#fresh = fresh;
    for (const m of this.#members) {
      m.check.onChange = (ep) => {
        this.#refresh();
        this.#onChange?.(ep);
      };
      m.check.token = opts.tls.token;
    }
    this.endpoints = this.#members.map((m) => m.endpoint);
    this.#refresh();
  }

  /** Starts health checks of endpoints new in this Upstream; resolves after each was probed once. */
  async start(): Promise<void> {
    await Promise.all(this.#fresh.map((m) => m.check.start()));
    this.#refresh();
  }

  /** The subset of endpoints named (kept current with health changes). */
  subset(names: readonly string[]): UpstreamSubset {
    const key = names.join('\0');
    const known = this.#subsets.get(key);
    if (known) return known;
    const s = new UpstreamSubset(names);
    // Only this subset: refreshing every subset here made a reload of many rules quadratic.
    s.healthy = this.#healthy.filter((e) => s.names.has(e.name));
    this.#subsets.set(key, s);
    return s;
  }

  /**
   * A healthy endpoint for a request, other than `exclude` unless it is the only one, from `subset`
   * if given, and among those one that has served `served`'s resource when any has;
   * null when none.
   */
  pick(
    longRunning: boolean,
    exclude?: Endpoint,
    subset?: UpstreamSubset,
    served?: { readonly apiGroup: string; readonly resource: string },
  ): Endpoint | null {
    // A request that read the previous generation of its cluster before a reload swapped it in
    // (it was authenticating, or queued) picks from the generation that serves now: the endpoints
    // retired with this one are closing, and picking one of them failed the request. Its subset is
    // the same names in the successor's.
    if (this.#successor !== undefined) {
      const next = this.#successor;
      if (next === null) return null;
      return next.pick(longRunning, exclude, subset && next.subset([...subset.names]), served);
    }
    let list: readonly Endpoint[] = subset ? subset.healthy : this.#healthy;
    // A retry goes to another endpoint, or to the same one when it is the only healthy one left
    // (what failed was then most likely its session, which is replaced, not the apiserver).
    if (exclude && list.length > 1 && list.includes(exclude)) list = list.filter((e) => e !== exclude);
    if (served !== undefined) {
      const serving = list.filter((e) => e.serves(served.apiGroup, served.resource));
      if (serving.length > 0) list = serving;
    }
    if (list.length === 0) return null;
    return this.balancer.pick(list, longRunning);
  }

  /** Whether a healthy endpoint other than `exclude`, from `subset` if given, has served `served`'s resource. */
  hasServed(
    served: { readonly apiGroup: string; readonly resource: string },
    exclude?: Endpoint,
    subset?: UpstreamSubset,
  ): boolean {
    if (this.#successor !== undefined) {
      const next = this.#successor;
      return next !== null && next.hasServed(served, exclude, subset && next.subset([...subset.names]));
    }
    const list = subset ? subset.healthy : this.#healthy;
    return list.some((e) => e !== exclude && e.serves(served.apiGroup, served.resource));
  }

  /** Passive ejection: the endpoint could not be reached; the health check will bring it back. */
  eject(ep: Endpoint): void {
    if (!ep.healthy) return;
    ep.eject('connect-error');
    this.#refresh();
    // Reported as the health check's changes are: without it an endpoint ejected by a failed
    // connect left no trace (its health check then saw it unhealthy already and said nothing).
    this.#onChange?.(ep);
  }

  #refresh(): void {
    this.#healthy = this.endpoints.filter((e) => e.healthy);
    for (const s of this.#subsets.values()) s.healthy = this.#healthy.filter((e) => s.names.has(e.name));
  }

  get healthyCount(): number {
    return this.#healthy.length;
  }

  /**
   * After `next` replaced this Upstream: stops and closes what `next` did not carry over. With a
   * `pacer` (and a successor to watch again on) their watches are ended a few at a time first.
   */
  retire(next: Upstream | null, pacer?: RewatchPacer): void {
    this.#successor = next;
    const kept = new Set(next ? next.#members : []);
    const gone = this.#members.filter((m) => !kept.has(m));
    for (const m of gone) m.check.stop();
    if (next !== null && pacer !== undefined) pacer.retire(gone.map((m) => m.endpoint));
    else for (const m of gone) m.endpoint.close(); // GOAWAY: streams in flight on it finish
  }

  close(): void {
    this.retire(null);
  }
}

/**
 * What a session is made with: a change makes new endpoints (new sessions) and retires the old
 * ones. The token is not part of it: it goes in each request's header (the cluster generation's),
 * so a rotated token file keeps the sessions and the watches on them.
 */
function digest(tls: UpstreamTLS): string {
  return createHash('sha256')
    .update(
      JSON.stringify([tls.ca, tls.cert ?? '', tls.key ?? '', tls.servername ?? '', tls.insecure === true]),
    )
    .digest('base64url');
}
