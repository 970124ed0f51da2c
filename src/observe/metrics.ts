import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { registerShareMetrics } from '../share/index.ts';
import type { ClusterRuntime } from '../cluster/runtime.ts';
import type { GatewayErrorCode } from '../errors.ts';
import { isLongRunning } from '../request/request-info.ts';
import type { RequestInfo } from '../request/types.ts';
import type { AccessRecord } from './access-log.ts';
import { BoundedLabel, OTHER, VERBS } from './bounded-label.ts';
import { liveNames, removeGoneSeries } from './live-series.ts';
import { RequestCounter, RequestHistogram } from './request-series.ts';

/** The Prometheus name prefix of every kubegate metric. */
export const PREFIX = 'kubegate_';

/** Distinct values kept per client- or config-derived label before `other`. */
export const MAX_LABEL_VALUES = 256;

/** `metrics` configuration: per-user series only when enabled, with a cap. */
export interface MetricsOptions {
  perUser?: { enabled: boolean; maxUsers: number };
  /** Node process metrics (default true; tests with several registries turn them off). */
  processMetrics?: boolean;
}

/** Config-reload counters of one configuration source, read at scrape time. */
export interface ConfigSourceState {
  readonly reloads: number;
  readonly failures: number;
  /** Hash (or generation) of what serves now; '' when nothing was applied. */
  readonly hash: string;
  /** Of the reloads, those that changed a named file and the refusals that named one, by kind of file. */
  readonly material?: Readonly<Record<string, { readonly reloads: number; readonly failures: number }>>;
}

/** What the gateway exposes for metrics read at scrape time. */
export interface MetricsView {
  clusters(): Iterable<ClusterRuntime>;
  listeners(): Iterable<{
    name: string;
    connections: { h2: number; 'http/1.1': number };
    refused: { perIPLimit: number; handshakeTimeout: number; rapidReset: number; rapidResetPenalty: number };
  }>;
  configSources(): Iterable<[source: string, state: ConfigSourceState]>;
}

/** Rejection reasons by gateway error code. */
export const REJECTION_REASONS: Partial<Record<GatewayErrorCode, string>> = {
  KG_RATE_LIMITED: 'rate_limited',
  KG_QUEUE_FULL: 'queue_full',
  KG_QUEUE_TIMEOUT: 'queue_timeout',
  KG_LONG_RUNNING_LIMIT: 'long_running_limit',
  KG_CIRCUIT_OPEN: 'circuit_open',
  KG_RULE_DENIED: 'rule_denied',
  KG_ACCESS_DENIED: 'access_denied',
  KG_UNAUTHENTICATED: 'unauthenticated',
  KG_NO_HEALTHY_UPSTREAM: 'no_healthy_upstream',
  KG_REQUEST_TOO_LARGE: 'request_too_large',
  KG_USER_LONG_RUNNING_LIMIT: 'user_long_running_limit',
  KG_MISDIRECTED: 'misdirected',
  KG_SHARED_WATCH_FORBIDDEN: 'shared_watch_forbidden',
};

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;
const REQUEST_LABELS = ['cluster', 'verb', 'resource', 'code_class', 'rule', 'endpoint'] as const;
/** Seconds; short requests, like kube-apiserver's apiserver_request_duration_seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const QUEUE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** `2xx`…`5xx` for a status; `other` outside 100–599 (nothing was answered). */
export function codeClass(status: number): string {
  return status >= 100 && status < 600 ? CODE_CLASSES[Math.floor(status / 100) - 1] : 'other';
}

const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * The resource label: `pods`, `pods/log`; '' for non-resource requests. `joined` keeps the
 * `resource/subresource` strings admitted under the cap, so their requests build no string.
 */
function resourceOf(i: RequestInfo, label: BoundedLabel, joined: Map<string, Map<string, string>>): string {
  if (!i.isResourceRequest) return label.value('');
  if (!i.subresource) return label.value(i.resource);
  const known = joined.get(i.resource)?.get(i.subresource);
  if (known !== undefined) return label.value(known);
  const value = label.value(`${i.resource}/${i.subresource}`);
  if (value !== OTHER) {
    const bySub = joined.get(i.resource) ?? new Map<string, string>();
    joined.set(i.resource, bySub.set(i.subresource, value));
  }
  return value;
}

/**
 * kubegate's Prometheus metrics (prom-client, prefix `kubegate_`). Request counters are fed from
 * finished access records; gauges of live state (health, sessions, queues, breaker, connections)
 * are read from the running objects at scrape time, so the request path does no metrics work
 * beyond one `observe` per request. Every client- or config-derived label goes through a
 * `BoundedLabel`, see docs/metrics.md.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #clusterL = new BoundedLabel(MAX_LABEL_VALUES);
  readonly #verbL = new BoundedLabel(0, VERBS);
  readonly #resourceL = new BoundedLabel(MAX_LABEL_VALUES);
  readonly #ruleL = new BoundedLabel(MAX_LABEL_VALUES);
  readonly #endpointL = new BoundedLabel(MAX_LABEL_VALUES);
  readonly #userL: BoundedLabel | null;
  readonly #joinedResources = new Map<string, Map<string, string>>();
  readonly #requests: RequestCounter;
  readonly #duration: RequestHistogram;
  readonly #rejections: RequestCounter;
  readonly #queueWait: RequestHistogram;
  readonly #users: RequestCounter | null;
  // Label values in labelNames order, reused by every request (see request-series.ts).
  readonly #requestKey = REQUEST_LABELS.map(() => '');
  readonly #rejectionKey = ['', '', ''];
  readonly #pairKey = ['', ''];
  readonly #view: MetricsView;

  constructor(view: MetricsView, opts: MetricsOptions = {}) {
    this.#view = view;
    const registers = [this.registry];
    registerShareMetrics(registers, PREFIX);
    const clusterL = this.#clusterL;
    const ruleL = this.#ruleL;
    const endpointL = this.#endpointL;
    this.#requests = new RequestCounter(
      this.registry,
      `${PREFIX}requests_total`,
      'Requests answered, by cluster, verb, resource, status class, rule and upstream endpoint.',
      REQUEST_LABELS,
    );
    this.#duration = new RequestHistogram(
      this.registry,
      `${PREFIX}request_duration_seconds`,
      'Duration of short (not long-running) requests, from the first byte in to the last byte out.',
      REQUEST_LABELS,
      DURATION_BUCKETS,
    );
    this.#rejections = new RequestCounter(
      this.registry,
      `${PREFIX}rejections_total`,
      'Requests the gateway refused itself, by reason (limits, breaker, rules, access, authentication, no upstream).',
      ['cluster', 'rule', 'reason'],
    );
    this.#queueWait = new RequestHistogram(
      this.registry,
      `${PREFIX}queue_wait_seconds`,
      'Time queued requests waited for an in-flight slot (served, timed out or gone).',
      ['cluster', 'rule'],
      QUEUE_BUCKETS,
    );
    const u = opts.perUser;
    this.#userL = u?.enabled ? new BoundedLabel(u.maxUsers) : null;
    this.#users = u?.enabled
      ? new RequestCounter(
          this.registry,
          `${PREFIX}user_requests_total`,
          `Requests by user (the first ${u.maxUsers} distinct users; later ones count as "other").`,
          ['cluster', 'user'],
        )
      : null;

    new Gauge({
      name: `${PREFIX}inflight_requests`,
      help: 'Requests being relayed upstream now, short and long-running (watches, logs -f, exec…) apart.',
      labelNames: ['cluster', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const c of view.clusters()) {
          let short = 0;
          let long = 0;
          for (const ep of c.upstream.endpoints) {
            short += ep.inflight;
            long += ep.longRunning;
          }
          const cluster = clusterL.value(c.name);
          this.inc({ cluster, kind: 'short' }, short);
          this.inc({ cluster, kind: 'long_running' }, long);
        }
      },
    });
    new Gauge({
      name: `${PREFIX}queue_length`,
      help: 'Requests waiting for an in-flight slot, by rule.',
      labelNames: ['cluster', 'rule'],
      registers,
      collect() {
        this.reset();
        for (const c of view.clusters())
          for (const rule of [...c.routes.rules, c.routes.defaultRule]) {
            const l = c.policy(rule).limiters;
            this.inc(
              { cluster: clusterL.value(c.name), rule: ruleL.value(rule.name) },
              l.readOnly.queued + l.mutating.queued,
            );
          }
      },
    });
    new Gauge({
      name: `${PREFIX}circuit_breaker_state`,
      help: 'The circuit breaker state of each cluster: 1 for the current state, 0 for the others.',
      labelNames: ['cluster', 'state'],
      registers,
      // Worker threads each have their breaker: aggregated over them, 1 if any worker is in the state.
      aggregator: 'max',
      collect() {
        this.reset();
        for (const c of view.clusters())
          for (const state of BREAKER_STATES)
            this.set({ cluster: clusterL.value(c.name), state }, c.breaker.state === state ? 1 : 0);
      },
    });
    const perEndpoint = (
      name: string,
      help: string,
      read: (c: ClusterRuntime, i: number) => number,
      aggregator: 'sum' | 'min' = 'sum',
    ) =>
      new Gauge({
        name: `${PREFIX}${name}`,
        help,
        labelNames: ['cluster', 'endpoint'],
        registers,
        aggregator,
        collect() {
          this.reset();
          for (const c of view.clusters())
            c.upstream.endpoints.forEach((ep, i) =>
              this.inc({ cluster: clusterL.value(c.name), endpoint: endpointL.value(ep.name) }, read(c, i)),
            );
        },
      });
    perEndpoint(
      'upstream_healthy',
      '1 when the endpoint takes traffic (health checks pass, not ejected).',
      (c, i) => (c.upstream.endpoints[i].healthy ? 1 : 0),
      // Each worker thread health-checks on its own: aggregated over them, 1 only if healthy in all.
      'min',
    );
    perEndpoint(
      'upstream_sessions',
      'HTTP/2 sessions open to the endpoint.',
      (c, i) => c.upstream.endpoints[i].pool.size,
    );
    perEndpoint(
      'upstream_active_streams',
      'Requests relayed to the endpoint now (HTTP/2 streams, and upgrade tunnels).',
      (c, i) => c.upstream.endpoints[i].inflight + c.upstream.endpoints[i].longRunning,
    );
    new Gauge({
      name: `${PREFIX}client_connections`,
      help: 'Client connections open, by listener and ALPN protocol.',
      labelNames: ['listener', 'protocol'],
      registers,
      collect() {
        this.reset();
        for (const l of view.listeners()) {
          this.set({ listener: l.name, protocol: 'h2' }, l.connections.h2);
          this.set({ listener: l.name, protocol: 'http/1.1' }, l.connections['http/1.1']);
        }
      },
    });
    new Counter({
      name: `${PREFIX}client_connections_refused_total`,
      help: 'Client connections the gateway closed for a client limit: over clientLimits.maxConnectionsPerClientIP, a TLS handshake slower than handshakeTimeoutSeconds, an HTTP/2 session resetting streams before their answer past prematureResets (rapid reset), or a connection from an address so closed within prematureResets.penaltySeconds (rapid_reset_penalty).',
      labelNames: ['listener', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const l of view.listeners()) {
          this.inc({ listener: l.name, reason: 'per_ip_limit' }, l.refused.perIPLimit);
          this.inc({ listener: l.name, reason: 'handshake_timeout' }, l.refused.handshakeTimeout);
          this.inc({ listener: l.name, reason: 'rapid_reset' }, l.refused.rapidReset);
          this.inc({ listener: l.name, reason: 'rapid_reset_penalty' }, l.refused.rapidResetPenalty);
        }
      },
    });
    // Counters kept by other objects: set from their totals at scrape time. A cluster whose token
    // cache was rebuilt (authentication settings changed) starts again from 0, a counter reset.
    new Counter({
      name: `${PREFIX}token_review_cache_total`,
      help: 'Bearer tokens looked up in the TokenReview cache: hit, or miss (a TokenReview was needed).',
      labelNames: ['cluster', 'result'],
      registers,
      collect() {
        this.reset();
        for (const c of view.clusters()) {
          const s = c.authenticator.tokenReviewStats();
          if (s === null) continue;
          const cluster = clusterL.value(c.name);
          this.inc({ cluster, result: 'hit' }, s.hits);
          this.inc({ cluster, result: 'miss' }, s.misses);
        }
      },
    });
    new Counter({
      name: `${PREFIX}config_reloads_total`,
      help: 'Configuration changes applied (success) or rejected (failure), by source.',
      labelNames: ['source', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [source, s] of view.configSources()) {
          this.inc({ source, result: 'success' }, s.reloads);
          this.inc({ source, result: 'failure' }, s.failures);
        }
      },
    });
    new Counter({
      name: `${PREFIX}material_reloads_total`,
      help: 'Certificate, key, CA and token files a configuration names: changes applied (success) or refused (failure, e.g. a key that does not match its certificate), by kind of file.',
      labelNames: ['source', 'kind', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [source, s] of view.configSources())
          for (const [kind, n] of Object.entries(s.material ?? {})) {
            this.inc({ source, kind, result: 'success' }, n.reloads);
            this.inc({ source, kind, result: 'failure' }, n.failures);
          }
      },
    });
    new Gauge({
      name: `${PREFIX}config_info`,
      help: 'Always 1; the hash of the configuration each source serves now.',
      labelNames: ['source', 'hash'],
      registers,
      collect() {
        this.reset();
        for (const [source, s] of view.configSources()) if (s.hash) this.set({ source, hash: s.hash }, 1);
      },
    });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Counts one finished request; allocates nothing once its series exist. */
  observe(r: AccessRecord): void {
    const cluster = this.#clusterL.value(r.cluster);
    const rule = r.rule === null ? 'none' : this.#ruleL.value(r.rule);
    const key = this.#requestKey; // REQUEST_LABELS order
    key[0] = cluster;
    key[1] = this.#verbL.value(r.info.verb);
    key[2] = resourceOf(r.info, this.#resourceL, this.#joinedResources);
    key[3] = codeClass(r.status);
    key[4] = rule;
    key[5] = r.upstream === null ? 'none' : this.#endpointL.value(r.upstream);
    this.#requests.inc(key);
    if (!isLongRunning(r.info)) this.#duration.observe(key, r.durationMs / 1000);
    const reason = r.code === null ? undefined : REJECTION_REASONS[r.code];
    if (reason !== undefined) {
      const k = this.#rejectionKey;
      k[0] = cluster;
      k[1] = rule;
      k[2] = reason;
      this.#rejections.inc(k);
    }
    if (this.#users !== null) {
      const k = this.#pairKey;
      k[0] = cluster;
      k[1] = this.#userL!.value(r.identity?.user ?? '');
      this.#users.inc(k);
    }
  }

  /** Records how long a request waited in a rule's queue. */
  queueWait(cluster: string, rule: string, waitMs: number): void {
    const k = this.#pairKey;
    k[0] = this.#clusterL.value(cluster);
    k[1] = this.#ruleL.value(rule);
    this.#queueWait.observe(k, waitMs / 1000);
  }

  /**
   * Removes the request series of clusters, rules and endpoints the live configuration no longer
   * has, and frees their label values under the caps; run after every configuration change.
   */
  async removeGone(): Promise<void> {
    const live = liveNames(this.#view.clusters());
    for (const m of [this.#requests, this.#duration, this.#rejections, this.#queueWait, this.#users])
      if (m !== null) await removeGoneSeries(m, live);
    const all = [...live.values()];
    this.#clusterL.retain(new Set(live.keys()));
    this.#ruleL.retain(new Set(all.flatMap((c) => [...c.rules])));
    this.#endpointL.retain(new Set(all.flatMap((c) => [...c.endpoints])));
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
