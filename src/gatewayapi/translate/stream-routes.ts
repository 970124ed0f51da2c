// TLSRoutes, TCPRoutes and UDPRoutes compiled on their own, before attachment: their hostnames
// (TLSRoute only), weighted backends, and what their status conditions must say about references.
// v1 allows one rule; should an object carry more, their backendRefs are served together.

import type { StreamBackendIR } from '../ir.ts';
import type { Backends } from './backends.ts';
import type { Problem } from './conditions.ts';
import type { Meta } from './read.ts';
import { arr, int, meta, rec, strs } from './read.ts';

/** The route kinds served as streams of bytes (or datagrams), not requests. */
export type StreamRouteKind = 'TLSRoute' | 'TCPRoute' | 'UDPRoute';

export interface StreamRoute {
  readonly kind: StreamRouteKind;
  readonly meta: Meta;
  /** TLSRoute: lower-case SNI hostnames (exact or `*.` wildcards); empty for TCP and UDP. */
  readonly hostnames: readonly string[];
  readonly parentRefs: readonly unknown[];
  readonly backends: readonly StreamBackendIR[];
  /** Why no parent can accept the route (UnsupportedValue), or null. */
  readonly notAccepted: Problem | null;
  readonly resolvedRefs: Problem | null;
}

/** Compiles a route of `kind`; backendRefs resolve through `backends`. */
export function compileStreamRoute(raw: unknown, kind: StreamRouteKind, backends: Backends): StreamRoute {
  const m = meta(raw);
  const spec = rec(rec(raw).spec);
  const refProblems: Problem[] = [];
  const unsupported: string[] = [];
  const transport = kind === 'UDPRoute' ? 'UDP' : 'TCP';
  const out: StreamBackendIR[] = [];
  for (const rule of arr(spec.rules))
    for (const refRaw of arr(rec(rule).backendRefs)) {
      const ref = rec(refRaw);
      const weight = int(ref.weight) ?? 1;
      if (weight < 0) unsupported.push('backendRef weight is negative.');
      const target = backends.resolveStream(ref, m.namespace, kind, transport);
      if ('reason' in target) {
        refProblems.push(target);
        out.push({ name: null, weight: Math.max(0, weight), endpoints: [] });
      } else {
        const { name, endpoints, tls } = target;
        // A BackendTLSPolicy applies to what a TLSRoute's listener terminates (see streams.ts).
        out.push(
          kind === 'TLSRoute' && tls !== undefined
            ? { name, weight: Math.max(0, weight), endpoints, tls }
            : { name, weight: Math.max(0, weight), endpoints },
        );
      }
    }
  if (out.length === 0)
    refProblems.push({ reason: 'BackendNotFound', message: 'The route has no backendRefs.' });
  return {
    kind,
    meta: m,
    hostnames:
      kind === 'TLSRoute'
        ? [
            ...new Set(
              strs(spec.hostnames)
                .filter((h) => h !== '')
                .map((h) => h.toLowerCase()),
            ),
          ]
        : [],
    parentRefs: arr(spec.parentRefs),
    backends: out,
    notAccepted:
      unsupported.length > 0
        ? { reason: 'UnsupportedValue', message: [...new Set(unsupported)].join(' ') }
        : null,
    resolvedRefs:
      refProblems.length === 0
        ? null
        : {
            reason: refProblems[0].reason,
            message: [...new Set(refProblems.map((p) => p.message))].join(' '),
          },
  };
}
