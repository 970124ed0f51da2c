import { ExpiringLRU } from '../auth/index.ts';
import type { JSONClient } from '../kube/client.ts';
import type { Identity } from '../request/types.ts';

/** The authorization attributes kube-apiserver checks for a watch (its RequestInfo, plus the selectors). */
export interface WatchAttributes {
  /** `watch` unless given (a cached list asks for `list`). */
  readonly verb?: 'watch' | 'list';
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespace: string;
  /** From `fieldSelector=metadata.name=…`, as kube-apiserver's RequestInfo takes it. */
  readonly name: string;
  readonly labelSelector: string;
  readonly fieldSelector: string;
}

/** An authorizer's answer, as a SubjectAccessReview's status gives it. */
export interface WatchDecision {
  readonly allowed: boolean;
  /** SubjectAccessReview `reason` and `evaluationError`, joined as kube-apiserver's Forbidden message does. */
  readonly why: string;
}

/** How long answers are kept: those of the cluster's token cache (`authentication.tokenReview`). */
export interface AccessTTLs {
  allowedMs: number;
  deniedMs: number;
}

interface ReviewStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

/**
 * Asks, through SubjectAccessReview, whether a user may watch what a shared stream carries —
 * the check the apiserver would make had the watch reached it, since the shared upstream watch
 * runs as someone else. Answers are cached (allowed and denied for their own TTLs, an LRU of
 * `maxEntries`) and concurrent identical questions share one review. A revoked permission thus
 * stops new attachments within the allowed TTL; a watch already attached runs on, as a direct
 * watch does in kube-apiserver.
 */
export class WatchAccess {
  readonly #client: JSONClient;
  readonly #ttls: () => AccessTTLs;
  readonly #cache: ExpiringLRU<WatchDecision>;
  readonly #inflight = new Map<string, Promise<WatchDecision>>();
  reviews = 0;
  hits = 0;

  constructor(client: JSONClient, ttls: () => AccessTTLs, maxEntries = 10_000, now?: () => number) {
    this.#client = client;
    this.#ttls = ttls;
    this.#cache = new ExpiringLRU(maxEntries, now);
  }

  /** Whether `user` may watch `a`; throws when the review itself fails (the caller then forwards). */
  decide(user: Identity, a: WatchAttributes): Promise<WatchDecision> {
    const key = JSON.stringify([user.user, user.uid, user.groups, user.extra, a]);
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      this.hits++;
      return Promise.resolve(hit);
    }
    let flight = this.#inflight.get(key);
    if (flight === undefined) {
      const p = this.#review(key, user, a);
      flight = p;
      this.#inflight.set(key, p);
      const done = (): void => {
        if (this.#inflight.get(key) === p) this.#inflight.delete(key);
      };
      p.then(done, done);
    }
    return flight;
  }

  async #review(key: string, user: Identity, a: WatchAttributes): Promise<WatchDecision> {
    this.reviews++;
    const resourceAttributes: Record<string, unknown> = {
      verb: a.verb ?? 'watch',
      group: a.group,
      version: a.version,
      resource: a.resource,
    };
    if (a.namespace) resourceAttributes.namespace = a.namespace;
    if (a.name) resourceAttributes.name = a.name;
    // kube-apiserver passes the selectors to authorizers (AuthorizeWithSelectors); RBAC ignores them.
    if (a.labelSelector) resourceAttributes.labelSelector = { rawSelector: a.labelSelector };
    if (a.fieldSelector) resourceAttributes.fieldSelector = { rawSelector: a.fieldSelector };
    const res = await this.#client.json<{ status?: ReviewStatus } | null>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: user.user, uid: user.uid, groups: user.groups, extra: user.extra, resourceAttributes },
      },
    );
    const s = res?.status ?? {};
    const allowed = s.allowed === true && s.denied !== true;
    const reason = s.reason ?? '';
    const error = s.evaluationError ?? '';
    const decision: WatchDecision = {
      allowed,
      why: error && reason ? `${error}: ${reason}` : error || reason,
    };
    const ttls = this.#ttls();
    const ttl = allowed ? ttls.allowedMs : ttls.deniedMs;
    if (ttl > 0) this.#cache.set(key, decision, ttl);
    return decision;
  }
}
