import { goQuote } from '../auth/index.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import type { ClientExchange } from '../proxy/exchange.ts';
import type { RequestInfo } from '../request/types.ts';

const sanitize = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * kube-apiserver's answer to a watch or list its authorizer denies (responsewriters.Forbidden, then
 * apierrors.NewForbidden): the same message, details and JSON field order, byte for byte.
 */
export function forbiddenWatchStatus(user: string, info: RequestInfo, why: string): string {
  const scope = info.namespace ? `in the namespace ${goQuote(info.namespace)}` : 'at the cluster scope';
  let msg = sanitize(
    `User ${goQuote(user)} cannot ${info.verb} resource ${goQuote(info.resource)} in API group ${goQuote(info.apiGroup)} ${scope}`,
  );
  if (why) msg += `: ${why}`;
  const qualified = info.apiGroup ? `${info.resource}.${info.apiGroup}` : info.resource;
  const subject = info.name ? `${qualified} ${goQuote(info.name)}` : qualified;
  const details: Record<string, string> = {};
  if (info.name) details.name = info.name;
  if (info.apiGroup) details.group = info.apiGroup;
  details.kind = info.resource;
  return (
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `${subject} is forbidden: ${msg}`,
      reason: 'Forbidden',
      details,
      code: 403,
    }) + '\n'
  );
}

/** Answers `x` with the apiserver's 403 for a denied watch, and notes it in the access record. */
export function forbiddenWatch(
  x: ClientExchange,
  record: AccessRecord,
  user: string,
  info: RequestInfo,
  why: string,
): void {
  const body = forbiddenWatchStatus(user, info, why);
  record.status = 403;
  record.code = 'KG_SHARED_WATCH_FORBIDDEN';
  record.error = `the access check of a shared ${info.verb === 'list' ? 'list' : 'watch'} denied it`;
  x.respond(
    403,
    {
      'content-type': 'application/json',
      'cache-control': 'no-cache, private',
      'x-content-type-options': 'nosniff',
      'content-length': Buffer.byteLength(body),
    },
    false,
  );
  x.end(body);
}
