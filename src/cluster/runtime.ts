import type { JWK } from 'jose';
import type { Logger } from 'pino';
import {
  Authenticator,
  FrontProxyAuthenticator,
  kubeAccessReviewer,
  kubeTokenReviewer,
  ServiceAccountJWTAuthenticator,
  TokenReviewAuthenticator,
} from '../auth/index.ts';
import type { ClusterConfig } from '../config/model.ts';
import { AdaptiveBreaker, ClosedBreaker, ManualBreaker, type CircuitBreaker } from '../policy/index.ts';
import { compileRules, type RouteRule, type RouteTable } from '../routing/index.ts';
import { createBalancer } from '../upstream/balancers/index.ts';
import { UpstreamJSONClient } from '../upstream/review-client.ts';
import type { RewatchPacer } from '../upstream/rewatch-pacer.ts';
import type { UpstreamTLS } from '../upstream/session-pool.ts';
import { Upstream } from '../upstream/upstream.ts';
import { AccessPolicy } from './access.ts';
import { RulePolicy, type Limiters } from './rule-policy.ts';
import { sharedBuffers, type SharedLimits } from './shared-limits.ts';

/** Finds the live runtime of a cluster by name (reviews always use the current upstream). */
export type ClusterLookup = (name: string) => ClusterRuntime | undefined;

/**
 * One cluster as the request pipeline sees it: authenticate, route, govern and pick, built from one
 * `ClusterConfig`. Immutable; a configuration change builds the next generation from this one,
 * carrying over endpoints (sessions, health), the token cache, limiter and breaker state of
 * everything whose configuration did not change.
 */
export class ClusterRuntime {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly upstream: Upstream;
  readonly upstreamTLS: UpstreamTLS;
  readonly upstreamToken: string | undefined;
  readonly authenticator: Authenticator;
  readonly routes: RouteTable;
  readonly breaker: CircuitBreaker;
  readonly access: AccessPolicy;
  readonly requestTimeoutMs: number;
  readonly #policies: Map<RouteRule, RulePolicy>;
  readonly #authKey: string;
  readonly #breakerKey: string;

  /** `shared`: the limiters' shared memory when worker threads serve together (see SharedLimitRegistry). */
  constructor(
    config: ClusterConfig,
    log: Logger,
    lookup: ClusterLookup,
    previous?: ClusterRuntime,
    shared?: SharedLimits,
  ) {
    this.name = config.name;
    this.config = config;
    const m = config.material;
    this.upstreamTLS = { ca: m.ca, cert: m.cert, key: m.key, insecure: m.insecureSkipTLSVerify };
    this.upstreamToken = m.token;
    this.requestTimeoutMs = config.requestTimeoutMs;
    const sameBalancer = previous?.config.balancer === config.balancer;
    this.upstream = new Upstream(
      config.endpoints,
      sameBalancer ? previous.upstream.balancer : createBalancer(config.balancer),
      {
        tls: { ...this.upstreamTLS, token: m.token },
        pingIntervalMs: config.pingIntervalMs,
        health: config.healthCheck,
        onChange: (ep) =>
          log.info(
            {
              kind: 'health',
              cluster: config.name,
              endpoint: ep.name,
              healthy: ep.healthy,
              cause: ep.ejectedFor ?? undefined,
            },
            'endpoint health changed',
          ),
      },
      previous?.upstream,
    );

    // Not keyed by the upstream material: the reviews go over the live generation's upstream with its
    // token (read per call), so a rotated credential keeps the token cache. The front-proxy CA is
    // the authenticator's own.
    this.#authKey = JSON.stringify([config.authentication, m.frontProxyCA ?? '']);
    this.authenticator =
      previous && previous.#authKey === this.#authKey
        ? previous.authenticator
        : buildAuthenticator(
            config,
            () => lookup(config.name)?.upstream ?? null,
            () => lookup(config.name)?.upstreamToken ?? config.material.token,
            log,
          );

    this.#breakerKey = JSON.stringify(config.circuitBreaker);
    this.breaker =
      previous && previous.#breakerKey === this.#breakerKey ? previous.breaker : buildBreaker(config, log);

    this.access = new AccessPolicy(config.access);
    this.routes = compileRules(config.rules, config.defaultRule, previous?.routes);
    const old = new Map<string, Limiters>();
    if (previous) for (const p of previous.#policies.values()) old.set(p.rule.name, p.limiters);
    this.#policies = new Map();
    for (const rule of [...this.routes.rules, this.routes.defaultRule])
      this.#policies.set(
        rule,
        new RulePolicy(
          rule,
          this.upstream,
          old.get(rule.name),
          sharedBuffers(shared, config.name, rule.index === -1 ? null : rule.name),
        ),
      );
  }

  /** The policy of a rule returned by `routes.match`. */
  policy(rule: RouteRule): RulePolicy {
    return this.#policies.get(rule)!;
  }

  /** Starts what is new in this generation (health checks of new endpoints). */
  start(): Promise<void> {
    return this.upstream.start();
  }

  /** This generation was replaced by `next` (or removed, when null): release what `next` did not keep. */
  retire(next: ClusterRuntime | null, pacer?: RewatchPacer): void {
    this.upstream.retire(next?.upstream ?? null, pacer);
  }
}

function buildAuthenticator(
  config: ClusterConfig,
  upstream: () => Upstream | null,
  token: () => string | undefined,
  log: Logger,
): Authenticator {
  const a = config.authentication;
  const reviews = new UpstreamJSONClient(upstream, token);
  return new Authenticator({
    tokenReview: a.tokenReview.enabled
      ? new TokenReviewAuthenticator({
          reviewer: kubeTokenReviewer(reviews),
          successTTLMs: a.tokenReview.successTTLMs,
          failureTTLMs: a.tokenReview.failureTTLMs,
          maxEntries: a.tokenReview.maxEntries,
        })
      : undefined,
    serviceAccountJWT: a.serviceAccountJWT
      ? new ServiceAccountJWTAuthenticator({
          issuers: a.serviceAccountJWT.issuers,
          audiences: a.serviceAccountJWT.audiences,
          refreshMs: a.serviceAccountJWT.refreshMs,
          fetchJWKS: () =>
            reviews.json<{ keys: JWK[] }>('GET', '/openid/v1/jwks').catch((err: unknown) => {
              log.warn(
                { kind: 'jwks', cluster: config.name, err: (err as Error).message },
                'fetching the JWKS failed',
              );
              throw err;
            }),
        })
      : undefined,
    accessReviewer: kubeAccessReviewer(reviews),
    anonymous: a.anonymous,
    frontProxy:
      a.frontProxy && config.material.frontProxyCA !== undefined
        ? new FrontProxyAuthenticator({ ca: config.material.frontProxyCA, ...a.frontProxy })
        : undefined,
  });
}

function buildBreaker(config: ClusterConfig, log: Logger): CircuitBreaker {
  const b = config.circuitBreaker;
  if (b.forceOpen) return new ManualBreaker(true);
  if (!b.automatic) return new ClosedBreaker();
  return new AdaptiveBreaker({
    windowMs: b.automatic.windowMs,
    buckets: 10,
    minRequests: b.automatic.minRequests,
    errorRatio: b.automatic.errorRatio,
    slowRatio: b.automatic.slowRatio,
    slowCallMs: b.automatic.slowCallMs,
    openMs: b.automatic.openMs,
    halfOpenProbes: b.automatic.halfOpenProbes,
    onStateChange: (state, previous) =>
      log.warn({ kind: 'breaker', cluster: config.name, state, previous }, 'circuit breaker changed state'),
  });
}
