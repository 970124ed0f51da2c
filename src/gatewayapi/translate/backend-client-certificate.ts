// A Gateway's `spec.tls.backend.clientCertificateRef`: the certificate the data plane presents on
// every TLS connection it opens to a backend (BackendTLSPolicy) for that Gateway. The reference is
// resolved like a listener's certificateRef (a kubernetes.io/tls Secret, a ReferenceGrant across
// namespaces); a problem goes on the Gateway's ResolvedRefs condition (Accepted is unaffected), and
// the Gateway's TLS connections to backends are then refused rather than made without the
// certificate. Clusters are shared by every Gateway that routes to a Service port, so a Gateway with
// a client certificate gets its own copy of each TLS cluster, named `<cluster>@<namespace>/<gateway>`.

import type {
  BackendIR,
  ClusterIR,
  FilterIR,
  ListenerIR,
  RouteIR,
  StreamBackendIR,
  UpstreamTLSIR,
} from '../ir.ts';
import type { KeyPair, Secrets } from './certificates.ts';
import { resolveCertificateRef } from './certificates.ts';
import type { Problem } from './conditions.ts';
import { has, rec } from './read.ts';
import type { ReferenceGrants } from './reference-grants.ts';

/** The resolved client certificate, or why the reference is invalid. */
export type BackendClientCertificate = { readonly pair: KeyPair } | Problem;

/** The Gateway's backend client certificate; null when `spec.tls.backend.clientCertificateRef` is not set. */
export function resolveBackendClientCertificate(
  gatewaySpec: Readonly<Record<string, unknown>>,
  gatewayNamespace: string,
  secrets: Secrets,
  grants: ReferenceGrants,
): BackendClientCertificate | null {
  const ref = rec(rec(rec(gatewaySpec).tls).backend).clientCertificateRef;
  if (!has(ref)) return null;
  const found = resolveCertificateRef(ref, gatewayNamespace, secrets, grants);
  if ('cert' in found) return { pair: found };
  const reason = found.reason === 'RefNotPermitted' ? found.reason : 'InvalidClientCertificateRef';
  return { reason, message: `spec.tls.backend.clientCertificateRef: ${found.message}` };
}

/** The TLS of a connection made for a Gateway with `client` configured. */
function withClient(tls: UpstreamTLSIR, client: BackendClientCertificate): UpstreamTLSIR {
  return { ...tls, clientCertificate: 'pair' in client ? client.pair : null };
}

/** A stream backend as a Gateway with `client` configured connects to it. */
export function streamBackendWithClient(
  b: StreamBackendIR,
  client: BackendClientCertificate | null,
): StreamBackendIR {
  return client === null || b.tls === undefined ? b : { ...b, tls: withClient(b.tls, client) };
}

/**
 * A Gateway's listeners with every TLS cluster their routes name replaced by the Gateway's own copy
 * (added to `clusters`); `clusters` must already hold the shared clusters the routes name.
 */
export function listenersWithClient(
  listeners: readonly ListenerIR[],
  clusters: Map<string, ClusterIR>,
  gateway: string,
  client: BackendClientCertificate,
): ListenerIR[] {
  const rename = (name: string | null): string | null => {
    const shared = name === null ? undefined : clusters.get(name);
    if (shared?.tls === undefined) return name;
    const own = `${shared.name}@${gateway}`;
    if (!clusters.has(own)) clusters.set(own, { ...shared, name: own, tls: withClient(shared.tls, client) });
    return own;
  };
  const filter = (f: FilterIR): FilterIR =>
    f.type === 'RequestMirror' ? { ...f, mirror: { ...f.mirror, cluster: rename(f.mirror.cluster) } } : f;
  const backend = (b: BackendIR): BackendIR => ({
    ...b,
    cluster: rename(b.cluster),
    filters: b.filters.map(filter),
  });
  const route = (r: RouteIR): RouteIR => ({
    ...r,
    filters: r.filters.map(filter),
    backends: r.backends.map(backend),
  });
  return listeners.map((l) => ({
    ...l,
    virtualHosts: l.virtualHosts.map((v) => ({ ...v, routes: v.routes.map(route) })),
  }));
}
