import { GatewayError } from '../errors.ts';
import { KubeAPIError } from '../kube/client.ts';

/**
 * The error for a review backend (TokenReview, SubjectAccessReview, …) that failed to answer: 500
 * when the cluster refused our own request (a 4xx other than 429: a misconfigured gateway, no
 * point retrying), else 503 with a short Retry-After. The original error is kept as `cause`.
 */
export function backendError(what: string, err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const broken = err instanceof KubeAPIError && err.status >= 400 && err.status < 500 && err.status !== 429;
  return broken
    ? new GatewayError('KG_AUTH_BACKEND', 'InternalError', `${what} failed`, { cause: err })
    : new GatewayError('KG_AUTH_BACKEND', 'ServiceUnavailable', `${what} unavailable`, {
        cause: err,
        retryAfter: 1,
      });
}
