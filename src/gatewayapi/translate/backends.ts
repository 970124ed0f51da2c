// backendRefs of HTTPRoutes: a Service port in the route's namespace (or another one a ReferenceGrant
// opens), served as the ready endpoints of the Service's EndpointSlices — the slice port with the
// Service port's name gives the target port. A Service without ready endpoints is still a valid
// backend (the data plane answers 503); an invalid reference is a Problem (the data plane answers 500).

import type { ClusterIR, UpstreamTLSIR } from '../ir.ts';
import type { BackendTLSPolicies } from './backend-tls-policies.ts';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP } from './conditions.ts';
import { arr, compareStrings, int, meta, rec, str, strs } from './read.ts';
import type { ReferenceGrants } from './reference-grants.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function protocolOf(appProtocol: string | undefined, tls: boolean): ClusterIR['protocol'] | null {
  switch ((appProtocol ?? '').toLowerCase()) {
    case 'https':
      // HTTP/1.1 over TLS: only a BackendTLSPolicy says how to verify the backend.
      return tls ? 'http1' : null;
    case '':
    case 'http':
    case 'kubernetes.io/ws':
      return 'http1';
    case 'h2c':
    case 'kubernetes.io/h2c':
      return 'h2c';
    default:
      return null;
  }
}

/** Resolves backendRefs against the Services and EndpointSlices of one translation. */
export class Backends {
  readonly #services = new Map<string, unknown>();
  readonly #slices = new Map<string, unknown[]>();
  readonly #clusters = new Map<string, ClusterIR>();
  readonly #grants: ReferenceGrants;
  readonly #tls: BackendTLSPolicies | null;

  constructor(
    services: readonly unknown[],
    slices: readonly unknown[],
    grants: ReferenceGrants,
    tls: BackendTLSPolicies | null = null,
  ) {
    this.#grants = grants;
    this.#tls = tls;
    for (const s of services) {
      const m = meta(s);
      this.#services.set(`${m.namespace}/${m.name}`, s);
    }
    for (const s of slices) {
      const m = meta(s);
      const service = m.labels[SERVICE_NAME_LABEL];
      if (service === undefined) continue;
      const key = `${m.namespace}/${service}`;
      this.#slices.set(key, [...(this.#slices.get(key) ?? []), s]);
    }
  }

  /** The cluster a backendRef of a route in `routeNamespace` names, or why it names none. */
  resolve(
    ref: unknown,
    routeNamespace: string,
    routeKind: 'HTTPRoute' | 'GRPCRoute' = 'HTTPRoute',
  ): ClusterIR | Problem {
    const found = this.#servicePort(ref, routeNamespace, routeKind);
    if ('reason' in found) return found;
    const { where, port, sp } = found;
    const tls = this.#tlsOf(where, sp);
    const declared = protocolOf(str(sp.appProtocol), tls !== undefined);
    // gRPC is HTTP/2 only: a GRPCRoute's backends are spoken to over h2c whatever the port says
    // (the Service port and its HTTP/1.1 cluster may serve HTTPRoutes beside it).
    const protocol = routeKind === 'GRPCRoute' && declared !== null ? 'h2c' : declared;
    const transport = str(sp.protocol) ?? 'TCP';
    if (transport !== 'TCP' || protocol === null) {
      const app = str(sp.appProtocol);
      const what = transport !== 'TCP' ? `protocol ${transport}` : `appProtocol ${app ?? ''}`;
      return {
        reason: 'UnsupportedProtocol',
        message: `Service ${where} port ${port} uses ${what}, which is not supported.`,
      };
    }
    const clusterName = protocol === declared ? `${where}:${port}` : `${where}:${port}/h2c`;
    let cluster = this.#clusters.get(clusterName);
    if (cluster === undefined) {
      const endpoints = this.#endpoints(where, str(sp.name) ?? '');
      cluster =
        tls === undefined
          ? { name: clusterName, protocol, endpoints }
          : { name: clusterName, protocol, endpoints, tls };
      this.#clusters.set(clusterName, cluster);
    }
    return cluster;
  }

  /**
   * The Service port a backendRef of a TLSRoute, TCPRoute or UDPRoute names, as its endpoints, or
   * why it names none: like `resolve`, but the port must carry `transport` (TCP for TLS and TCP
   * routes, UDP for UDP routes) and any appProtocol goes (the bytes are passed as they are).
   */
  resolveStream(
    ref: unknown,
    routeNamespace: string,
    routeKind: string,
    transport: 'TCP' | 'UDP',
  ): { name: string; endpoints: ClusterIR['endpoints']; tls?: UpstreamTLSIR } | Problem {
    const found = this.#servicePort(ref, routeNamespace, routeKind);
    if ('reason' in found) return found;
    const { where, port, sp } = found;
    const portTransport = str(sp.protocol) ?? 'TCP';
    if (portTransport !== transport)
      return {
        reason: 'UnsupportedProtocol',
        message: `Service ${where} port ${port} uses protocol ${portTransport}; ${routeKind} needs ${transport}.`,
      };
    const endpoints = this.#endpoints(where, str(sp.name) ?? '');
    const tls = this.#tlsOf(where, sp);
    return tls === undefined
      ? { name: `${where}:${port}`, endpoints }
      : { name: `${where}:${port}`, endpoints, tls };
  }

  /** The BackendTLSPolicy TLS of a Service port (`where` is `namespace/service`), if any. */
  #tlsOf(where: string, sp: Record<string, unknown>): UpstreamTLSIR | undefined {
    const [namespace, service] = where.split('/');
    return this.#tls?.forPort(namespace, service, str(sp.name) ?? '');
  }

  /** The Service port a backendRef names (kind, ReferenceGrant, Service and port checked), or why not. */
  #servicePort(
    ref: unknown,
    routeNamespace: string,
    routeKind: string,
  ): { where: string; port: number; sp: Record<string, unknown> } | Problem {
    const r = rec(ref);
    const group = str(r.group) ?? '';
    const kind = str(r.kind) ?? 'Service';
    const name = str(r.name) ?? '';
    const namespace = str(r.namespace) || routeNamespace;
    const where = `${namespace}/${name}`;
    if (group !== '' || kind !== 'Service')
      return {
        reason: 'InvalidKind',
        message: `backendRef kind ${group || 'core'}/${kind} is not supported.`,
      };
    const from = { group: GATEWAY_GROUP, kind: routeKind, namespace: routeNamespace };
    if (!this.#grants.allows(from, { group: '', kind: 'Service', namespace, name }))
      return {
        reason: 'RefNotPermitted',
        message: `No ReferenceGrant allows a reference to Service ${where}.`,
      };
    const service = this.#services.get(where);
    if (service === undefined || name === '')
      return { reason: 'BackendNotFound', message: `Service ${where} not found.` };
    const port = int(r.port);
    if (port === undefined)
      return { reason: 'BackendNotFound', message: `backendRef to Service ${where} has no port.` };
    const servicePort = arr(rec(rec(service).spec).ports).find((p) => int(rec(p).port) === port);
    if (servicePort === undefined)
      return { reason: 'BackendNotFound', message: `Service ${where} has no port ${port}.` };
    return { where, port, sp: rec(servicePort) };
  }

  #endpoints(service: string, portName: string): ClusterIR['endpoints'] {
    const seen = new Map<string, { address: string; port: number }>();
    for (const slice of this.#slices.get(service) ?? []) {
      const s = rec(slice);
      const addressType = str(s.addressType) ?? 'IPv4';
      if (addressType !== 'IPv4' && addressType !== 'IPv6') continue;
      const slicePort = arr(s.ports).find((p) => (str(rec(p).name) ?? '') === portName);
      const port = int(rec(slicePort).port);
      if (port === undefined || port < 1 || port > 65535) continue;
      for (const e of arr(s.endpoints)) {
        if (rec(rec(e).conditions).ready === false) continue;
        for (const address of strs(rec(e).addresses)) seen.set(`${address} ${port}`, { address, port });
      }
    }
    return [...seen.values()].sort((a, b) => compareStrings(a.address, b.address) || a.port - b.port);
  }
}
