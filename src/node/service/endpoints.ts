import { familyOf, isPort, list, type Family } from './family.ts';
import type { EndpointSlice, Service, ServicePort } from './objects.ts';

/** One backend of one Service port, as the proxy sends traffic to it. */
export interface ServiceEndpoint {
  readonly ip: string;
  readonly port: number;
  readonly nodeName: string | undefined;
  /** The Pod behind it (`targetRef.name`), for weights. */
  readonly podName: string | undefined;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

/** The EndpointSlices of each Service, by `namespace/name` (label `kubernetes.io/service-name`). */
export function slicesByService(slices: readonly EndpointSlice[]): Map<string, EndpointSlice[]> {
  const out = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const svc = s?.metadata?.labels?.['kubernetes.io/service-name'];
    if (typeof svc !== 'string') continue;
    const k = `${s.metadata.namespace ?? ''}/${svc}`;
    let list = out.get(k);
    if (list === undefined) out.set(k, (list = []));
    list.push(s);
  }
  return out;
}

/**
 * Every endpoint of a Service port in one address family: slices of that `addressType` whose port
 * of the same name and protocol has a number. The first address of an endpoint is the one used (as
 * kube-proxy does); duplicates across slices are merged (ready wins). Sorted by address and port.
 */
export function portEndpoints(
  slices: readonly EndpointSlice[],
  port: ServicePort,
  family: Family,
): ServiceEndpoint[] {
  const protocol = port.protocol ?? 'TCP';
  const name = port.name ?? '';
  const byKey = new Map<string, ServiceEndpoint>();
  for (const slice of slices) {
    if (slice.addressType !== family.sliceType) continue;
    const sp = list(slice.ports).find((p) => (p?.name ?? '') === name && (p?.protocol ?? 'TCP') === protocol);
    if (!isPort(sp?.port)) continue;
    for (const e of list(slice.endpoints)) {
      const ip = list(e?.addresses)[0];
      if (familyOf(ip) !== family) continue;
      const c = e.conditions !== null && typeof e.conditions === 'object' ? e.conditions : {};
      // A nil `ready` means ready; nil `serving` means as ready (discovery/v1 semantics).
      const ready = c.ready !== false;
      const ep: ServiceEndpoint = {
        ip: ip!,
        port: sp!.port!,
        nodeName: typeof e.nodeName === 'string' ? e.nodeName : undefined,
        podName: typeof e.targetRef?.name === 'string' ? e.targetRef.name : undefined,
        ready,
        serving: c.serving ?? ready,
        terminating: c.terminating === true,
      };
      const k = `${ip}|${sp!.port}`;
      const had = byKey.get(k);
      if (had === undefined || (!had.ready && ep.ready)) byKey.set(k, ep);
    }
  }
  return [...byKey.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port));
}

/**
 * The endpoints traffic may go to, kube-proxy's rule: the ready ones; if none is ready, the ones
 * that are serving and terminating (so connections drain to pods still able to answer).
 */
export function usableEndpoints(all: readonly ServiceEndpoint[]): ServiceEndpoint[] {
  const ready = all.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return all.filter((e) => e.serving && e.terminating);
}

/** The same rule over the endpoints on `nodeName` only (traffic policy Local). */
export function usableLocalEndpoints(all: readonly ServiceEndpoint[], nodeName: string): ServiceEndpoint[] {
  return usableEndpoints(all.filter((e) => e.nodeName === nodeName));
}

/** `namespace/name` of a Service. */
export function serviceKey(svc: Service): string {
  return `${svc?.metadata?.namespace ?? ''}/${svc?.metadata?.name}`;
}
