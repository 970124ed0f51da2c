import type { NftTable } from '../nft/model.ts';
import {
  portEndpoints,
  serviceKey,
  slicesByService,
  usableEndpoints,
  usableLocalEndpoints,
  type ServiceEndpoint,
} from './endpoints.ts';
import { IPV4, IPV6, familyOf, isPort, list, type Family } from './family.ts';
import type { EndpointSlice, Service, ServiceProblem } from './objects.ts';
import { ProxyTableBuilder, type ServiceAddress, type Traffic } from './proxy-table.ts';
import { parseWeights, serviceScheduler, slotTable } from './schedulers.ts';

/** What the Service proxy of one node needs to know. */
export interface ServiceProxyInput {
  readonly nodeName: string;
  /** The node's addresses (NodePorts answer on these). */
  readonly nodeIPs: readonly string[];
  /** Every node's pod CIDRs: traffic from outside them to a ClusterIP is masqueraded. */
  readonly clusterCIDRs: readonly string[];
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
}

/** A UDP service address and the endpoints it sends to (stale conntrack entries are deleted). */
export interface UDPDestination {
  readonly ip: string;
  readonly port: number;
  readonly endpoints: readonly string[];
}

/** A `healthCheckNodePort` this node answers: 200 with local endpoints, else 503. */
export interface HealthCheck {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  readonly localEndpoints: number;
}

export interface ServiceProxyOutput {
  readonly tables: NftTable[];
  readonly problems: ServiceProblem[];
  readonly udp: UDPDestination[];
  readonly healthChecks: HealthCheck[];
}

const DEFAULT_AFFINITY_SECONDS = 10800;

/** What one Service contributes; reused while the Service, its slices and the node are the same. */
interface ServiceResult {
  readonly addresses: readonly { readonly family: Family; readonly address: ServiceAddress }[];
  /** Endpoints on this node (hairpin). */
  readonly localEndpoints: readonly { readonly family: Family; readonly ip: string }[];
  readonly problems: readonly ServiceProblem[];
  readonly udp: readonly UDPDestination[];
  readonly healthChecks: readonly HealthCheck[];
}

/**
 * Results by Service object. Informers hand back the same object for an unchanged item, so a sync
 * after one Service changed recomputes that Service only (the cache is invisible: same inputs, same
 * result). Keyed weakly: a Service object gone from the informer goes from here too.
 */
const MEMO = new WeakMap<
  Service,
  { slices: readonly EndpointSlice[]; node: string; result: ServiceResult }
>();

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The last Services sorted by key: an endpoint change hands back the very same objects. */
let lastSorted: { services: readonly Service[]; keyed: readonly { svc: Service; key: string }[] } | null =
  null;

/** The Services with their `namespace/name` keys, in key order (the order of the table's elements). */
function sortedServices(services: readonly Service[]): readonly { svc: Service; key: string }[] {
  if (lastSorted !== null && sameList(lastSorted.services, services)) return lastSorted.keyed;
  const keyed = services.map((svc) => ({ svc, key: serviceKey(svc) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  lastSorted = { services: [...services], keyed };
  return keyed;
}

/**
 * The Service proxy of one node, as nft tables (pure: same objects, same tables, in any order).
 * Every Service port gets an entry per address it answers on: ClusterIPs, externalIPs,
 * LoadBalancer ingress IPs and, for NodePorts, each node IP; dual-stack Services get both tables.
 */
export function serviceProxyTables(input: ServiceProxyInput): ServiceProxyOutput {
  const families = [IPV4, IPV6];
  const builders = new Map<Family, ProxyTableBuilder>(
    families.map((f) => [
      f,
      new ProxyTableBuilder(
        f,
        list(input.clusterCIDRs).filter((c) => familyOf(c) === f),
      ),
    ]),
  );
  const problems: ServiceProblem[] = [];
  const udp: UDPDestination[] = [];
  const healthChecks: HealthCheck[] = [];
  const slices = slicesByService(input.endpointSlices);
  const node = `${input.nodeName}|${list(input.nodeIPs).join(',')}`;
  const keyed = sortedServices(input.services);

  for (const { svc, key } of keyed) {
    const svcSlices = slices.get(key) ?? [];
    const cached = svc !== null && typeof svc === 'object' ? MEMO.get(svc) : undefined;
    let result: ServiceResult;
    if (cached !== undefined && cached.node === node && sameList(cached.slices, svcSlices))
      result = cached.result;
    else {
      result = translateService(svc, svcSlices, input);
      if (svc !== null && typeof svc === 'object') MEMO.set(svc, { slices: svcSlices, node, result });
    }
    for (const { family, address } of result.addresses) builders.get(family)!.add(address);
    for (const { family, ip } of result.localEndpoints) builders.get(family)!.localEndpoint(ip);
    problems.push(...result.problems);
    udp.push(...result.udp);
    healthChecks.push(...result.healthChecks);
  }
  return { tables: families.map((f) => builders.get(f)!.build()), problems, udp, healthChecks };
}

const NONE: ServiceResult = { addresses: [], localEndpoints: [], problems: [], udp: [], healthChecks: [] };

function translateService(
  svc: Service,
  svcSlices: readonly EndpointSlice[],
  input: ServiceProxyInput,
): ServiceResult {
  try {
    return translateServiceUnchecked(svc, svcSlices, input);
  } catch (err) {
    // Malformed beyond what the checks expect: this Service is skipped, the rest served.
    return {
      ...NONE,
      problems: [
        {
          object: {
            kind: 'Service',
            namespace: String(svc?.metadata?.namespace ?? ''),
            name: String(svc?.metadata?.name),
          },
          field: 'spec',
          message: `malformed Service (${(err as Error).message}); not programmed`,
        },
      ],
    };
  }
}

function translateServiceUnchecked(
  svc: Service,
  svcSlices: readonly EndpointSlice[],
  input: ServiceProxyInput,
): ServiceResult {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return NONE;
  // Services another proxy implements (kube-proxy's rule).
  if (svc.metadata.labels?.['service.kubernetes.io/service-proxy-name'] !== undefined) return NONE;
  const addresses: { family: Family; address: ServiceAddress }[] = [];
  const localEndpoints: { family: Family; ip: string }[] = [];
  const problems: ServiceProblem[] = [];
  const udp: UDPDestination[] = [];
  const healthChecks: HealthCheck[] = [];
  const object = { kind: 'Service', namespace: svc.metadata.namespace ?? '', name: svc.metadata.name };
  const problem = (field: string, message: string): void => void problems.push({ object, field, message });
  const { scheduler, problems: sp } = serviceScheduler(svc);
  const { weights, problems: wp } = parseWeights(svc);
  for (const p of [...sp, ...wp]) problem(p.field, p.message);
  let affinitySeconds: number | undefined;
  if (spec.sessionAffinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS;
    affinitySeconds = Number.isInteger(t) && t >= 1 && t <= 86400 ? t : DEFAULT_AFFINITY_SECONDS;
    if (affinitySeconds !== t)
      problem(
        'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
        `${JSON.stringify(t)} is not 1–86400; ${DEFAULT_AFFINITY_SECONDS} is used`,
      );
  }
  const internalLocal = spec.internalTrafficPolicy === 'Local';
  const externalLocal =
    spec.externalTrafficPolicy === 'Local' &&
    (spec.type === 'NodePort' || spec.type === 'LoadBalancer' || list(spec.externalIPs).length > 0);
  const clusterIPs = (spec.clusterIPs !== undefined ? list(spec.clusterIPs) : [spec.clusterIP]).filter(
    (ip): ip is string => familyOf(ip) !== null,
  );
  const external: string[] = [];
  list(spec.externalIPs).forEach((ip, i) => {
    if (familyOf(ip) === null)
      problem(`spec.externalIPs[${i}]`, `${JSON.stringify(ip)} is not an IP address`);
    else external.push(ip);
  });
  if (spec.type === 'LoadBalancer')
    for (const ing of list(svc.status?.loadBalancer?.ingress))
      if (familyOf(ing?.ip) !== null) external.push(ing.ip!);
  const nodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  const nodeIPs = nodePorts ? list(input.nodeIPs).filter((ip) => familyOf(ip) !== null) : [];
  // Only the families the Service has an address in: a single-stack Service reads its slices once.
  const families = [IPV4, IPV6].filter((f) =>
    [...clusterIPs, ...external, ...nodeIPs].some((ip) => familyOf(ip) === f),
  );
  const localIPs = new Set<string>();
  const hairpin = new Set<string>();

  list(spec.ports).forEach((port, i) => {
    if (!isPort(port?.port)) {
      problem(
        `spec.ports[${i}].port`,
        `${JSON.stringify(port?.port)} is not a port number; the port is not served`,
      );
      return;
    }
    const protocol = String(port.protocol ?? 'TCP').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      problem(
        `spec.ports[${i}].protocol`,
        protocol === 'sctp'
          ? 'SCTP is not in this kernel (nf_conntrack_proto_sctp is absent); the port is not served'
          : `protocol ${port.protocol} is not supported; the port is not served`,
      );
      return;
    }
    for (const f of families) {
      const all = portEndpoints(svcSlices, port, f);
      const cluster = internalLocal ? usableLocalEndpoints(all, input.nodeName) : usableEndpoints(all);
      const local = usableLocalEndpoints(all, input.nodeName);
      for (const e of all)
        if (e.nodeName === input.nodeName && !hairpin.has(e.ip)) {
          hairpin.add(e.ip);
          localEndpoints.push({ family: f, ip: e.ip });
        }
      for (const e of local) localIPs.add(e.ip);
      const add = (ip: string, p: number, traffic: Traffic, eps: ServiceEndpoint[]): void => {
        const { generator, slots } = slotTable(scheduler, eps, weights);
        addresses.push({
          family: f,
          address: {
            ip,
            protocol,
            port: p,
            traffic,
            endpoints: eps,
            slots,
            generator,
            ...(affinitySeconds !== undefined ? { affinitySeconds } : {}),
          },
        });
        if (protocol === 'udp') udp.push({ ip, port: p, endpoints: eps.map((e) => e.ip) });
      };
      for (const ip of clusterIPs) if (familyOf(ip) === f) add(ip, port.port, 'cluster', cluster);
      const extTraffic: Traffic = externalLocal ? 'local' : 'external';
      const extEps = externalLocal ? local : usableEndpoints(all);
      for (const ip of external) if (familyOf(ip) === f) add(ip, port.port, extTraffic, extEps);
      if (isPort(port.nodePort))
        for (const ip of nodeIPs) if (familyOf(ip) === f) add(ip, port.nodePort, extTraffic, extEps);
    }
  });
  if (spec.type === 'LoadBalancer' && externalLocal && isPort(spec.healthCheckNodePort))
    healthChecks.push({
      namespace: object.namespace,
      name: object.name,
      port: spec.healthCheckNodePort!,
      localEndpoints: localIPs.size,
    });
  return { addresses, localEndpoints, problems, udp, healthChecks };
}
