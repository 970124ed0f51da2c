// The `extAuth` field of a TrafficPolicy: the head of each request is first sent to an HTTP service
// (a Service port in the policy's namespace, resolved to its ready endpoints like a backendRef).
// Whatever is wrong is a Problem and the field still applies, closed: a reference that resolves to
// no Service leaves no cluster (every request 403, failOpen or not); a bad value takes its default.

import type { ClusterIR, ExtAuthIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { parseDuration } from './durations.ts';
import { arr, has, int, rec, str, text } from './read.ts';
import { HEADER_NAME, FRAMING_HEADERS } from './header-names.ts';

/** Resolves a Service port reference made in `namespace`, as backendRefs are. */
export type ResolveBackend = (ref: unknown, namespace: string) => ClusterIR | Problem;

/** The request headers sent to the service when `allowedHeaders` is not given. */
export const DEFAULT_EXT_AUTH_HEADERS: readonly string[] = ['authorization', 'cookie'];
const DEFAULT_TIMEOUT_MS = 2000;
const MAX_TIMEOUT_MS = 60_000;
const PATH_PREFIX = /^\/[!$&'()*+,;=:@%/A-Za-z0-9._~-]*$/;

/** Reads `spec.extAuth` of a policy in `namespace`. */
export function readExtAuth(
  raw: unknown,
  namespace: string,
  resolve: ResolveBackend | null,
  problems: Problem[],
): ExtAuthIR {
  const e = rec(raw);
  const invalid = (message: string) => problems.push({ reason: 'Invalid', message });
  let cluster: string | null = null;
  const ref = rec(e.backendRef);
  const refNamespace = str(ref.namespace);
  if (!has(e.backendRef) || text(ref.name) === undefined || int(ref.port) === undefined)
    invalid('extAuth.backendRef needs a Service name and port.');
  else if (refNamespace !== undefined && refNamespace !== '' && refNamespace !== namespace)
    invalid(`extAuth.backendRef.namespace must be the policy's own (${namespace}).`);
  else if (resolve === null) invalid('extAuth: Services are not known to this translation.');
  else {
    const found = resolve({ name: ref.name, port: ref.port }, namespace);
    if ('reason' in found) invalid(`extAuth.backendRef: ${found.message}`);
    else cluster = found.name;
  }

  let pathPrefix = '';
  if (e.pathPrefix !== undefined) {
    const p = str(e.pathPrefix) ?? '';
    if (!PATH_PREFIX.test(p)) invalid('extAuth.pathPrefix must be a path starting with /.');
    else pathPrefix = p.replace(/\/+$/, '');
  }

  const headerList = (field: string, value: unknown, fallback: readonly string[]): string[] => {
    if (value === undefined) return [...fallback];
    const good = new Set<string>();
    const bad: string[] = [];
    for (const v of arr(value)) {
      const h = typeof v === 'string' ? v.toLowerCase() : '';
      if (HEADER_NAME.test(h) && !FRAMING_HEADERS.has(h)) good.add(h);
      else bad.push(String(v));
    }
    if (!Array.isArray(value) || bad.length > 0)
      invalid(
        `extAuth.${field}: ${bad.slice(0, 3).join(', ') || 'not a list'} is not an allowed header name.`,
      );
    return [...good].sort();
  };
  const allowedHeaders = headerList('allowedHeaders', e.allowedHeaders, DEFAULT_EXT_AUTH_HEADERS);
  const headersToBackend = headerList('headersToBackend', e.headersToBackend, []);

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (e.timeout !== undefined) {
    const t = parseDuration(str(e.timeout) ?? '');
    if (t === null || t < 1 || t > MAX_TIMEOUT_MS)
      invalid('extAuth.timeout must be a duration from 1ms to 60s.');
    else timeoutMs = t;
  }

  let failOpen = false;
  if (e.failOpen !== undefined) {
    if (typeof e.failOpen !== 'boolean') invalid('extAuth.failOpen must be true or false.');
    else failOpen = e.failOpen;
  }
  // A broken reference stays closed whatever failOpen says: the policy must not open its target.
  return {
    cluster,
    pathPrefix,
    allowedHeaders,
    headersToBackend,
    timeoutMs,
    failOpen: cluster !== null && failOpen,
  };
}
