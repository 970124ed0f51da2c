import { isIP } from 'node:net';
import { canonicalPrefix } from '../message/index.ts';
import { prefixWithin } from '../rib/policy.ts';
import type { EndpointSlice, Service, ServiceProblem } from '../../service/index.ts';
import type { RoutingOptions } from './options.ts';

/** kube-router's per-Service overrides of `--advertise-*-ip` ("true"/"false", as Go's ParseBool). */
export const SERVICE_ADVERTISE_ANNOTATIONS = {
  clusterIP: 'kube-router.io/service.advertise.clusterip',
  externalIP: 'kube-router.io/service.advertise.externalip',
  loadBalancerIP: 'kube-router.io/service.advertise.loadbalancerip',
} as const;
/** kube-router: present (any value) = announce only from nodes with a ready local endpoint. */
export const SERVICE_LOCAL_ANNOTATION = 'kube-router.io/service.local';
/** kube-router's deprecated switch-off of LoadBalancer IPs (present = not announced). */
export const SERVICE_SKIP_LB_IPS_ANNOTATION = 'kube-router.io/service.skiplbips';

/** What this node announces for Services, and what it must never import. */
export interface ServiceAnnouncements {
  /** Host prefixes (/32, /128) and the aggregate ranges, sorted: sent to external peers only. */
  readonly announce: readonly string[];
  /** Every service address of every Service (announced here or not): never imported. */
  readonly rejectImport: readonly string[];
  readonly problems: readonly ServiceProblem[];
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
const SERVED_TYPES = new Set(['ClusterIP', 'NodePort', 'LoadBalancer']);

const host = (address: string): string => canonicalPrefix(address);

/**
 * Services and EndpointSlices → the service prefixes this node announces (pure), with kube-router's
 * rules: `--advertise-cluster-ip`, `--advertise-external-ip`, `--advertise-loadbalancer-ip` as
 * defaults, `kube-router.io/service.advertise.*` overriding them per Service; headless and
 * ExternalName Services have nothing to announce. A Service with `externalTrafficPolicy: Local` (or
 * `kube-router.io/service.local`) is announced only by nodes with a ready endpoint of it; so is its
 * cluster IP when `internalTrafficPolicy: Local`. With `--advertise-service-cluster-ip-range`, that
 * range is announced and the cluster IPs it covers are not announced one by one, unless they are
 * Local (then the /32 from the nodes with endpoints beats the aggregate at the router).
 */
export function serviceAnnouncements(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  nodeName: string,
  options: RoutingOptions,
): ServiceAnnouncements {
  const problems: ServiceProblem[] = [];
  const announce = new Set<string>(options.advertiseServiceClusterIPRanges.map((r) => canonicalPrefix(r)));
  const reject = new Set<string>();
  const local = localServices(slices, nodeName);
  for (const svc of services) {
    const spec = svc.spec ?? {};
    if (!SERVED_TYPES.has(spec.type ?? 'ClusterIP')) continue;
    const clusterIPs = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter(
      (a) => isIP(a) !== 0,
    );
    if (clusterIPs.length === 0) continue; // headless ("None") or not allocated yet
    const ns = svc.metadata.namespace ?? 'default';
    const a = svc.metadata.annotations ?? {};
    const flag = (key: keyof typeof SERVICE_ADVERTISE_ANNOTATIONS, byDefault: boolean): boolean => {
      const name = SERVICE_ADVERTISE_ANNOTATIONS[key];
      const v = a[name];
      if (v === undefined) return byDefault;
      if (TRUE.has(v)) return true;
      if (!FALSE.has(v))
        problems.push({
          object: { kind: 'Service', namespace: ns, name: svc.metadata.name },
          field: `metadata.annotations[${name}]`,
          message: `${JSON.stringify(v)} is not true or false; the address is not announced`,
        });
      return false;
    };
    const externalIPs = (spec.externalIPs ?? []).filter((x) => isIP(x) !== 0);
    const lbIPs =
      spec.type === 'LoadBalancer'
        ? (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip && isIP(i.ip) ? [i.ip] : []))
        : [];
    for (const x of [...clusterIPs, ...externalIPs, ...lbIPs]) reject.add(host(x));

    const externalLocal = spec.externalTrafficPolicy === 'Local' || SERVICE_LOCAL_ANNOTATION in a;
    const ready = local.has(`${ns}/${svc.metadata.name}`);
    const externalOk = !externalLocal || ready;
    // kube-router gates every address of a Local Service, the cluster IP too.
    const clusterLocal = externalLocal || spec.internalTrafficPolicy === 'Local';
    if (flag('clusterIP', options.advertiseClusterIP) && (!clusterLocal || ready))
      for (const ip of clusterIPs) {
        const p = host(ip);
        const covered = options.advertiseServiceClusterIPRanges.some((r) => prefixWithin(p, r));
        if (!covered || clusterLocal) announce.add(p);
      }
    if (flag('externalIP', options.advertiseExternalIP) && externalOk)
      for (const ip of externalIPs) announce.add(host(ip));
    const lb = flag('loadBalancerIP', options.advertiseLoadBalancerIP);
    if (lb && !(SERVICE_SKIP_LB_IPS_ANNOTATION in a) && externalOk)
      for (const ip of lbIPs) announce.add(host(ip));
  }
  return { announce: [...announce].sort(), rejectImport: [...reject].sort(), problems };
}

/** `namespace/name` of the Services with a ready endpoint on this node. */
function localServices(slices: readonly EndpointSlice[], nodeName: string): Set<string> {
  const out = new Set<string>();
  for (const s of slices) {
    const svc = s.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc) continue;
    // `ready` unset means ready (discovery.k8s.io/v1: "nil should be interpreted as true").
    if ((s.endpoints ?? []).some((e) => e.nodeName === nodeName && e.conditions?.ready !== false))
      out.add(`${s.metadata.namespace ?? 'default'}/${svc}`);
  }
  return out;
}
