// A route's retry and timeouts as the forwarding uses them: the HTTPRoute rule's own `retry` and
// `timeouts`, or, where the rule does not set them, its TrafficPolicy's (docs/traffic-policies.md).

import type { PolicyRetryIR, PolicyTimeoutsIR, RetryIR, TimeoutsIR } from '../ir.ts';
import type { UpstreamError } from './upstream-request.ts';

/** Retry policy with the codes as a set. */
export interface CompiledRetry {
  readonly codes: ReadonlySet<number>;
  readonly attempts: number;
  readonly backoffMs: number;
  /** Backoff doubles per retry up to this. */
  readonly backoffMaxMs: number;
  /** Failures without a response that are retried: refused connections, and resets and timeouts. */
  readonly onConnectFailure: boolean;
  readonly onReset: boolean;
}

/** Timeouts in milliseconds; 0: none. */
export interface CompiledTimeouts extends TimeoutsIR {
  /** How long an attempt may receive nothing from the backend. */
  readonly idleMs: number;
}

/** The rule's retry (every failure without a response is retried), else the policy's. */
export function compileRetry(rule: RetryIR | null, policy: PolicyRetryIR | undefined): CompiledRetry | null {
  if (rule !== null)
    return {
      codes: new Set(rule.codes),
      attempts: rule.attempts,
      backoffMs: rule.backoffMs,
      backoffMaxMs: rule.backoffMs * 10,
      onConnectFailure: true,
      onReset: true,
    };
  if (policy === undefined) return null;
  return { ...policy, codes: new Set(policy.codes) };
}

/**
 * Each timeout from the rule where it sets one, else from the policy. The per-attempt timeout of a
 * policy's retry (`perTryTimeout`) comes before the policy's `backendRequest`, after the rule's.
 */
export function compileTimeouts(
  rule: TimeoutsIR | null,
  policy: PolicyTimeoutsIR | undefined,
  retry: PolicyRetryIR | undefined,
  ruleRetry: boolean,
): CompiledTimeouts | null {
  const perTry = ruleRetry ? 0 : (retry?.perTryTimeoutMs ?? 0);
  if (policy === undefined && perTry === 0) return rule === null ? null : { ...rule, idleMs: 0 };
  return {
    requestMs: rule?.requestMs || policy?.requestMs || 0,
    backendRequestMs: rule?.backendRequestMs || perTry || policy?.backendRequestMs || 0,
    idleMs: policy?.idleMs ?? 0,
  };
}

// No connection was made: nothing reached the backend.
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Whether `retry` asks for an attempt that failed this way to be retried. */
export function retriesFailure(retry: CompiledRetry, err: UpstreamError): boolean {
  if (err.kind === 'timeout') return retry.onReset;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  const connect = typeof code === 'string' && CONNECT_FAILURES.has(code);
  return connect ? retry.onConnectFailure : retry.onReset;
}
