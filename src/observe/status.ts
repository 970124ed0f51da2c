import type { ClusterRuntime } from '../cluster/runtime.ts';
import type { AccessRecord } from './access-log.ts';
import { REJECTION_REASONS } from './metrics.ts';

/** How far back `ratePerSecond` looks. */
const RATE_WINDOW_S = 10;
const RECENT_ERRORS = 50;

/** One request that failed, as `/status.json` shows it: never credentials, no query string. */
export interface RecentError {
  time: string;
  cluster: string;
  rule: string | null;
  status: number;
  code: string | null;
  message: string | null;
  path: string;
  user: string | null;
}

/** What `/status.json` reads from the running gateway. */
export interface StatusView {
  clusters(): Iterable<ClusterRuntime>;
  /** Config hash or generation. */
  version(): string;
  readonly draining: boolean;
}

interface RuleCounts {
  requests: number;
  rejections: number;
}

type Sample = { at: number; counts: Map<string, number> };

/**
 * The live numbers behind the status page: per-rule request and rejection totals (from access
 * records), per-endpoint request totals (from the endpoints), sampled once a second so rates are
 * taken over the last ~10 s, and the last 50 failed requests.
 */
export class StatusBoard {
  readonly #view: StatusView;
  readonly #started = Date.now();
  readonly #rules = new Map<string, Map<string, RuleCounts>>();
  readonly #samples: Sample[] = [];
  readonly #errors: RecentError[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(view: StatusView) {
    this.#view = view;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 1000).unref();
  }

  /** Counts one finished request. */
  observe(r: AccessRecord): void {
    // By cluster, then rule: a key made of both would be a new string to hash for every request.
    let rules = this.#rules.get(r.cluster);
    if (rules === undefined) this.#rules.set(r.cluster, (rules = new Map()));
    const rule = r.rule ?? 'none';
    let c = rules.get(rule);
    if (c === undefined) {
      // Keyed by configured names; pruned to the live rules at every sample.
      c = { requests: 0, rejections: 0 };
      rules.set(rule, c);
    }
    c.requests++;
    if (r.code !== null && REJECTION_REASONS[r.code] !== undefined) c.rejections++;
    if (r.status >= 400 || r.code !== null) {
      const q = r.uri.indexOf('?');
      this.#errors.push({
        time: new Date().toISOString(),
        cluster: r.cluster,
        rule: r.rule,
        status: r.status,
        code: r.code,
        message: r.error,
        path: q < 0 ? r.uri : r.uri.slice(0, q),
        user: r.identity?.user ?? null,
      });
      if (this.#errors.length > RECENT_ERRORS) this.#errors.shift();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #counts(): Map<string, number> {
    const m = new Map<string, number>();
    const live = new Set<string>();
    for (const c of this.#view.clusters()) {
      for (const ep of c.upstream.endpoints) m.set(`e\0${c.name}\0${ep.name}`, ep.requests);
      for (const rule of [...c.routes.rules, c.routes.defaultRule]) live.add(ruleKey(c.name, rule.name));
      live.add(ruleKey(c.name, 'none'));
    }
    for (const [cluster, rules] of this.#rules) {
      for (const [rule, rc] of rules) {
        const key = ruleKey(cluster, rule);
        if (!live.has(key)) {
          rules.delete(rule);
          continue;
        }
        m.set(`r\0${key}`, rc.requests);
        m.set(`x\0${key}`, rc.rejections);
      }
      if (rules.size === 0) this.#rules.delete(cluster);
    }
    return m;
  }

  #sample(): void {
    this.#samples.push({ at: performance.now(), counts: this.#counts() });
    if (this.#samples.length > RATE_WINDOW_S + 1) this.#samples.shift();
  }

  /** Per second over the sampled window, for one counter key. */
  #rate(now: Map<string, number>, at: number, key: string): number {
    const first = this.#samples[0];
    // At least one second: a counter that moved in the first second after start is still a rate.
    const seconds = Math.max(1, (at - first.at) / 1000);
    const delta = (now.get(key) ?? 0) - (first.counts.get(key) ?? 0);
    return Math.max(0, Math.round((delta / seconds) * 100) / 100);
  }

  /** The `/status.json` document. */
  json(): Record<string, unknown> {
    const at = performance.now();
    const now = this.#counts();
    const clusters = [];
    for (const c of this.#view.clusters()) {
      const endpoints = c.upstream.endpoints.map((ep) => ({
        name: ep.name,
        url: ep.url.href,
        healthy: ep.healthy,
        ejectedFor: ep.ejectedFor,
        inflight: ep.inflight,
        longRunning: ep.longRunning,
        ratePerSecond: this.#rate(now, at, `e\0${c.name}\0${ep.name}`),
        sessions: ep.pool.size,
        requestsTotal: ep.requests,
      }));
      const rules = [...c.routes.rules, c.routes.defaultRule].map((rule) => {
        const p = c.policy(rule);
        const l = p.limiters;
        const key = ruleKey(c.name, rule.name);
        const counts = this.#rules.get(c.name)?.get(rule.name);
        return {
          name: rule.name,
          action: rule.spec.action ?? 'proxy',
          ratePerSecond: this.#rate(now, at, `r\0${key}`),
          rejectionsPerSecond: this.#rate(now, at, `x\0${key}`),
          rejectionsTotal: counts?.rejections ?? 0,
          requestsTotal: counts?.requests ?? 0,
          inflight: l.readOnly.inflight + l.mutating.inflight + l.longRunning.inflight,
          queued: l.readOnly.queued + l.mutating.queued,
          exempt: p.exempt,
        };
      });
      clusters.push({
        name: c.name,
        origin: c.config.origin,
        breaker: c.breaker.state,
        healthyEndpoints: c.upstream.healthyCount,
        endpoints,
        rules,
      });
    }
    return {
      version: this.#view.version(),
      generatedAt: new Date().toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#started) / 1000),
      draining: this.#view.draining,
      clusters,
      recentErrors: [...this.#errors].reverse(),
    };
  }
}

function ruleKey(cluster: string, rule: string): string {
  return `${cluster}\0${rule}`;
}
