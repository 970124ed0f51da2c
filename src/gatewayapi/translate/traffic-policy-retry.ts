// The `retry` and `timeouts` fields of a TrafficPolicy, beyond the HTTPRoute rule's own: what is
// retried (Envoy's retry_on vocabulary), per-attempt timeouts, capped backoff, an idle timeout.
// A wrong value is a Problem and is left out; the rest applies. The data plane feeds them into the
// same retry and timeout code as the rule's (a rule's own `retry`/`timeouts` win).

import type { PolicyRetryIR, PolicyTimeoutsIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { parseDuration } from './durations.ts';
import { arr, int, rec } from './read.ts';
import { DEFAULT_BACKOFF_MS } from './routes.ts';

/** The `retryOn` values. */
export const RETRY_ON = [
  'connect-failure',
  'reset',
  '5xx',
  'gateway-error',
  'retriable-status-codes',
] as const;
const DEFAULT_RETRY_ON: readonly string[] = ['connect-failure', 'reset', 'gateway-error'];
const GATEWAY_ERRORS = [502, 503, 504];
/** Retries per request at most: each one is another request to a backend that is already failing. */
const MAX_ATTEMPTS = 10;

/** Reads `spec.retry`. */
export function readRetry(raw: unknown, problems: Problem[]): PolicyRetryIR {
  const r = rec(raw);
  const bad = (message: string) => problems.push({ reason: 'Invalid', message: `retry.${message}` });
  let attempts = 1;
  if (r.attempts !== undefined) {
    const n = int(r.attempts);
    if (n === undefined || n < 0 || n > MAX_ATTEMPTS) bad(`attempts must be an integer 0-${MAX_ATTEMPTS}.`);
    else attempts = n;
  }
  const perTryTimeoutMs = duration(r.perTryTimeout, 'retry.perTryTimeout', problems);
  const retryOn = new Set<string>();
  for (const v of r.retryOn === undefined ? DEFAULT_RETRY_ON : arr(r.retryOn)) {
    if (typeof v === 'string' && (RETRY_ON as readonly string[]).includes(v)) retryOn.add(v);
    else bad(`retryOn: ${JSON.stringify(v)} is not one of ${RETRY_ON.join(', ')}.`);
  }
  const codes = new Set<number>();
  if (retryOn.has('5xx')) for (let c = 500; c <= 599; c++) codes.add(c);
  if (retryOn.has('gateway-error')) for (const c of GATEWAY_ERRORS) codes.add(c);
  const statusCodes = arr(r.statusCodes);
  for (const v of statusCodes) {
    const c = int(v);
    if (c === undefined || c < 400 || c > 599) bad(`statusCodes: ${JSON.stringify(v)} is not 400-599.`);
    else codes.add(c);
  }
  if (retryOn.has('retriable-status-codes') && statusCodes.length === 0)
    bad('retryOn retriable-status-codes needs statusCodes.');
  const backoff = rec(r.backoff);
  const backoffMs = duration(backoff.base, 'retry.backoff.base', problems) || DEFAULT_BACKOFF_MS;
  let backoffMaxMs = duration(backoff.max, 'retry.backoff.max', problems) || backoffMs * 10;
  if (backoffMaxMs < backoffMs) {
    bad('backoff.max is less than backoff.base.');
    backoffMaxMs = backoffMs;
  }
  const failures = retryOn.has('5xx') || retryOn.has('gateway-error');
  return {
    attempts,
    perTryTimeoutMs,
    codes: [...codes].sort((a, b) => a - b),
    onConnectFailure: failures || retryOn.has('connect-failure'),
    onReset: failures || retryOn.has('reset'),
    backoffMs,
    backoffMaxMs,
  };
}

/** Reads `spec.timeouts`. */
export function readTimeouts(raw: unknown, problems: Problem[]): PolicyTimeoutsIR {
  const t = rec(raw);
  return {
    requestMs: duration(t.request, 'timeouts.request', problems),
    backendRequestMs: duration(t.backendRequest, 'timeouts.backendRequest', problems),
    idleMs: duration(t.idle, 'timeouts.idle', problems),
  };
}

/** Milliseconds of a Gateway API duration; 0 when absent, or (a Problem) when it does not parse. */
function duration(value: unknown, field: string, problems: Problem[]): number {
  if (value === undefined) return 0;
  const ms = typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null)
    problems.push({
      reason: 'Invalid',
      message: `${field} ${JSON.stringify(value)} is not a duration such as 500ms or 1s.`,
    });
  return ms ?? 0;
}
