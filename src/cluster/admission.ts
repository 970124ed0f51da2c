import { setTimeout as sleep } from 'node:timers/promises';
import { splitServiceAccountUsername } from '../auth/index.ts';
import { GatewayError, reasonForStatus } from '../errors.ts';
import { QueueError, type Permit } from '../policy/index.ts';
import { isReadOnly } from '../request/request-info.ts';
import type { Identity, RequestInfo } from '../request/types.ts';
import type { RulePolicy } from './rule-policy.ts';
import type { ClusterRuntime } from './runtime.ts';

/** The client of a request, asked for an abort signal only when the request has to queue. */
export interface ClientPresence {
  /** Aborts when the client goes away (the request then leaves the queue). */
  leftSignal(): AbortSignal;
}

/** A permit that holds nothing (exempt rules, unlimited kinds). */
const FREE: Permit = { release() {} };

/** Retry-After for a limiter rejection: the limiter's own hint, plus 0–2 s of jitter, at least 1. */
function retryAfter(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000)) + Math.floor(Math.random() * 3);
}

/**
 * The govern stage: access lists, the rule's action, rate limit (over it: 429, or with
 * `queue.waitForRate` a wait for the token), in-flight limit (queued FIFO), and the circuit breaker,
 * in that order, so a request turned away by a limiter never uses a breaker
 * probe. Resolves to the permit to release when the request ends; throws the `GatewayError` to answer.
 * Returns synchronously (no promise) unless the request has to queue.
 */
export function admit(
  cluster: ClusterRuntime,
  policy: RulePolicy,
  info: RequestInfo,
  identity: Identity,
  longRunning: boolean,
  /** Made only when the request has to queue: lets it leave the queue when its client goes away. */
  client: ClientPresence | undefined,
): Permit | Promise<Permit> {
  const spec = policy.rule.spec;
  if (spec.action === 'deny') {
    const d = spec.deny ?? {};
    const status = d.code ?? 403;
    throw new GatewayError(
      'KG_RULE_DENIED',
      reasonForStatus(status),
      d.message ?? `request refused by kubegate rule "${policy.rule.name}"`,
      { status, retryAfter: d.retryAfterSeconds },
    );
  }
  if (policy.exempt) return FREE;
  const l = policy.limiters;
  if (l.rateWaitMs > 0) {
    const key = rateKey(l.perUser, identity);
    const wait = l.rate.reserve(key, l.rateWaitMs);
    if (wait < 0) throw rateLimited(policy, -wait);
    if (wait > 0) {
      const queuedAt = performance.now();
      const signal = client?.leftSignal();
      return sleep(wait, undefined, signal && { signal }).then(
        () => {
          queueWaited(cluster.name, policy.rule.name, queuedAt);
          return acquireSlot(cluster, policy, info, longRunning, client);
        },
        () => {
          // The client left: its token goes back, so a queue of leavers does not starve later ones.
          l.rate.refund(key);
          queueWaited(cluster.name, policy.rule.name, queuedAt);
          throw new GatewayError(
            'KG_QUEUE_FULL',
            'TooManyRequests',
            'the client left while waiting for a token',
            {
              retryAfter: retryAfter(0),
            },
          );
        },
      );
    }
  } else {
    const wait = l.rate.take(rateKey(l.perUser, identity));
    if (wait > 0) throw rateLimited(policy, wait);
  }
  return acquireSlot(cluster, policy, info, longRunning, client);
}

function rateLimited(policy: RulePolicy, waitMs: number): GatewayError {
  const l = policy.limiters;
  return new GatewayError(
    'KG_RATE_LIMITED',
    'TooManyRequests',
    `too many requests: kubegate rule "${policy.rule.name}" allows ${policy.rule.spec.limits?.qps} per second${l.perUser === 'none' ? '' : ' per user'}`,
    { retryAfter: retryAfter(waitMs) },
  );
}

/** The in-flight limit for the request's kind (queued FIFO), then the breaker. */
function acquireSlot(
  cluster: ClusterRuntime,
  policy: RulePolicy,
  info: RequestInfo,
  longRunning: boolean,
  client: ClientPresence | undefined,
): Permit | Promise<Permit> {
  const spec = policy.rule.spec;
  const l = policy.limiters;
  const limiter = longRunning ? l.longRunning : isReadOnly(info) ? l.readOnly : l.mutating;
  const permit = limiter.tryAcquire();
  if (permit) return withBreaker(cluster, permit);
  if (longRunning)
    throw new GatewayError(
      'KG_LONG_RUNNING_LIMIT',
      'TooManyRequests',
      `too many long-running requests: kubegate rule "${policy.rule.name}" allows ${spec.limits?.maxLongRunning} at once`,
      { retryAfter: retryAfter(0) },
    );
  const queuedAt = performance.now();
  return limiter.acquire(client?.leftSignal()).then(
    (p) => {
      queueWaited(cluster.name, policy.rule.name, queuedAt);
      return withBreaker(cluster, p);
    },
    (err: unknown) => {
      queueWaited(cluster.name, policy.rule.name, queuedAt);
      if (!(err instanceof QueueError)) throw err;
      throw new GatewayError(
        err.code === 'KG_QUEUE_TIMEOUT' ? 'KG_QUEUE_TIMEOUT' : 'KG_QUEUE_FULL',
        'TooManyRequests',
        `too many requests in flight for kubegate rule "${policy.rule.name}" (${err.message})`,
        { retryAfter: retryAfter(0), cause: err },
      );
    },
  );
}

/** Told how long a request waited in a rule's queue (served, timed out or gone), for metrics. */
export type QueueWaitObserver = (cluster: string, rule: string, waitMs: number) => void;

const queueWaitObservers = new Set<QueueWaitObserver>();

/** Registers `fn` for every queue wait in this process; returns its removal. */
export function observeQueueWaits(fn: QueueWaitObserver): () => void {
  queueWaitObservers.add(fn);
  return () => queueWaitObservers.delete(fn);
}

function queueWaited(cluster: string, rule: string, since: number): void {
  if (queueWaitObservers.size === 0) return;
  const ms = performance.now() - since;
  for (const fn of queueWaitObservers) fn(cluster, rule, ms);
}

function withBreaker(cluster: ClusterRuntime, permit: Permit): Permit {
  if (cluster.breaker.allow()) return permit;
  permit.release();
  throw new GatewayError('KG_CIRCUIT_OPEN', 'ServiceUnavailable', cluster.config.circuitBreaker.message, {
    retryAfter: retryAfter(cluster.breaker.retryAfterMs()),
  });
}

/** The key a per-user rate limit counts under: the user, or the service account (others share one). */
function rateKey(kind: 'none' | 'user' | 'serviceAccount', identity: Identity): string {
  if (kind === 'none') return '';
  if (kind === 'serviceAccount') return splitServiceAccountUsername(identity.user) ? identity.user : '';
  return identity.user;
}
