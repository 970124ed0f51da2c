// The translator: Gateway API objects in, data-plane IR and status out. Pure and deterministic (no
// clock, no randomness, no I/O) and total: any input, however malformed, gives an answer.

import type { DataPlaneIR } from '../ir.ts';
import type {
  BackendTLSPolicy,
  Condition,
  ConfigMap,
  EndpointSlice,
  Gateway,
  GatewayClass,
  GatewayStatus,
  GRPCRoute,
  HTTPRoute,
  ListenerSet,
  ListenerSetStatus,
  Namespace,
  ParentReference,
  ReferenceGrant,
  RouteParentStatus,
  Secret,
  Service,
  TCPRoute,
  TLSRoute,
  TrafficPolicy,
  UDPRoute,
} from '../objects.ts';
import { assignAddresses } from './address-pool.ts';
import type { Attachment, NamespaceLabels } from './attachment.ts';
import { attachRoute } from './attachment.ts';
import { BackendTLSPolicies, gatewayRefsByService, type PolicyStatusOutput } from './backend-tls-policies.ts';
import { Backends } from './backends.ts';
import { GATEWAY_GROUP } from './conditions.ts';
import { buildDataPlane } from './data-plane.ts';
import { deepFreeze } from './freeze.ts';
import type { GatewayClassResult } from './gateway-classes.ts';
import { evaluateGatewayClasses } from './gateway-classes.ts';
import type { GatewayState } from './gateways.ts';
import { evaluateGateway, gatewayStatus } from './gateways.ts';
import type { ListenerSets } from './listener-sets.ts';
import { attachListenerSets, listenerSetStatus } from './listener-sets.ts';
import type { ListenerState } from './listeners.ts';
import { isServable } from './listeners.ts';
import { arr, byAgeThenName, compareJSON, compareStrings, indexBy, keyOf, meta, rec, str } from './read.ts';
import { ReferenceGrants } from './reference-grants.ts';
import { compileGRPCRoute } from './grpc-routes.ts';
import { compileRoute, type CompiledRoute } from './routes.ts';
import { attachStreamRoute, type StreamAttachment } from './stream-attachment.ts';
import { compileStreamRoute, type StreamRouteKind } from './stream-routes.ts';
import { buildStreams } from './streams.ts';
import { TrafficPolicies, type PolicyWorld } from './traffic-policies.ts';

/**
 * The objects to translate. Arrays are read, never changed, and must not be changed by the caller
 * afterwards either: `translate` reuses work done for an array it has seen (by reference).
 */
export interface TranslateInput {
  /** Ours, e.g. `kubegate.io/gateway-controller`. */
  controllerName: string;
  /** An IPv4 CIDR, e.g. `10.250.2.0/24`: the addresses handed to Gateways. */
  addressPool: string;
  gatewayClasses: GatewayClass[];
  gateways: Gateway[];
  /** Absent reads as none. */
  listenerSets?: ListenerSet[];
  httpRoutes: HTTPRoute[];
  /** Absent reads as none. */
  grpcRoutes?: GRPCRoute[];
  /** The stream routes; absent reads as none. */
  tlsRoutes?: TLSRoute[];
  tcpRoutes?: TCPRoute[];
  udpRoutes?: UDPRoute[];
  referenceGrants: ReferenceGrant[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  secrets: Secret[];
  namespaces: Namespace[];
  /** CA bundles; absent reads as none. */
  configMaps?: ConfigMap[];
  /** Absent reads as none. */
  backendTLSPolicies?: BackendTLSPolicy[];
  /** TrafficPolicies (gateway.kubegate.io); absent reads as none. */
  trafficPolicies?: TrafficPolicy[];
  /** Secrets TrafficPolicies name (Opaque: htpasswd, API keys); absent reads as none. */
  policySecrets?: Secret[];
}

export interface TranslateOutput {
  /** Deeply frozen. */
  ir: DataPlaneIR;
  /** Only classes whose spec.controllerName is ours. */
  gatewayClasses: {
    name: string;
    status: { conditions: Condition[]; supportedFeatures: { name: string }[] };
  }[];
  /**
   * Only Gateways of our classes. `listenerSetPorts`: the ports of the set listeners served on the
   * Gateway (for its generated Service), present only when there is one.
   */
  gateways: { namespace: string; name: string; status: GatewayStatus; listenerSetPorts?: ListenerPort[] }[];
  /** ListenerSets whose parentRef names one of our Gateways; present only when there is one. */
  listenerSets?: { namespace: string; name: string; status: ListenerSetStatus }[];
  /** Every HTTPRoute with a parentRef to one of our Gateways; `parents` holds only our entries. */
  httpRoutes: { namespace: string; name: string; parents: RouteParentStatus[] }[];
  /** As `httpRoutes`, for GRPCRoutes; present only when it has an entry. */
  grpcRoutes?: RouteStatusOutput[];
  /** As `httpRoutes`, for each stream route kind; present only when it has an entry. */
  tlsRoutes?: RouteStatusOutput[];
  tcpRoutes?: RouteStatusOutput[];
  udpRoutes?: RouteStatusOutput[];
  /** Every BackendTLSPolicy targeting a Service a route of our Gateways uses; `ancestors` holds only ours. */
  backendTLSPolicies?: PolicyStatusOutput[];
  /** Every TrafficPolicy, with its ancestor entries (targets not found included); present only when there is one. */
  trafficPolicies?: PolicyStatusOutput[];
}

/** A port a Gateway serves, as its generated Service lists it. */
export interface ListenerPort {
  port: number;
  protocol: 'TCP' | 'UDP';
}

/** One route's parent entries that are ours. */
export interface RouteStatusOutput {
  namespace: string;
  name: string;
  parents: RouteParentStatus[];
}

/** The input and output field of each stream route kind. */
const STREAM_KINDS = [
  ['TLSRoute', 'tlsRoutes'],
  ['TCPRoute', 'tcpRoutes'],
  ['UDPRoute', 'udpRoutes'],
] as const satisfies readonly (readonly [StreamRouteKind, keyof TranslateInput & keyof TranslateOutput])[];

export type { Condition } from '../objects.ts';

const METADATA_NAME_LABEL = 'kubernetes.io/metadata.name';

// Compiled routes by route object, reused while the collections a route resolves against are the
// same arrays (the controller hands in the same array for a collection until it changes), so a
// translation at 5,000 routes does not recompile every unchanged route. Invisible in the output:
// the same objects give the same compiled route.
const compiledRoutes = new WeakMap<object, { deps: readonly unknown[]; route: CompiledRoute }>();

function compileRouteOnce(
  raw: unknown,
  backends: Backends,
  deps: readonly unknown[],
  compile: (raw: unknown, backends: Backends) => CompiledRoute,
): CompiledRoute {
  if (raw === null || typeof raw !== 'object') return compile(raw, backends);
  const hit = compiledRoutes.get(raw);
  if (hit !== undefined && hit.deps.every((d, n) => d === deps[n])) return hit.route;
  const route = compile(raw, backends);
  compiledRoutes.set(raw, { deps, route });
  return route;
}

interface GatewayPhase {
  readonly deps: readonly unknown[];
  readonly grants: ReferenceGrants;
  readonly labelsOf: NamespaceLabels;
  readonly classes: GatewayClassResult[];
  readonly gatewayByKey: Map<string, GatewayState>;
  readonly gateways: GatewayState[];
  readonly sets: ListenerSets;
}

// The last Gateway phase, reused while its inputs are the same arrays: a route change then
// re-attaches only the routes that changed (attachments and route statuses are memoized on it).
let lastPhase: GatewayPhase | null = null;

/** GatewayClasses, Gateways (with addresses) and what route attachment reads, from the inputs. */
function gatewayPhase(i: Record<string, unknown>, controllerName: string): GatewayPhase {
  const deps = [
    fingerprint(i.gatewayClasses, false),
    fingerprint(i.gateways, true),
    fingerprint(i.listenerSets, false),
    i.namespaces,
    i.secrets,
    i.configMaps,
    i.referenceGrants,
    i.addressPool,
    controllerName,
  ];
  if (lastPhase !== null && lastPhase.deps.every((d, n) => d === deps[n])) return lastPhase;
  const grants = new ReferenceGrants(arr(i.referenceGrants));
  const secrets = indexBy(arr(i.secrets), (s) => keyOf(meta(s)));
  const configMaps = indexBy(arr(i.configMaps), (c) => keyOf(meta(c)));
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const [name, n] of indexBy(arr(i.namespaces), (o) => meta(o).name))
    namespaceLabels.set(name, meta(n).labels);
  // The API server gives every namespace this label; assume it for namespaces not (yet) seen.
  const labelsOf = (ns: string) => ({ ...namespaceLabels.get(ns), [METADATA_NAME_LABEL]: ns });

  const classes = evaluateGatewayClasses(arr(i.gatewayClasses), controllerName);
  const classByName = new Map<string, GatewayClassResult>(classes.map((c) => [c.name, c]));

  // Our Gateways, oldest first (the order addresses are handed out in), one per namespace/name.
  const gatewayByKey = new Map<string, GatewayState>();
  const ours = arr(i.gateways)
    .map((raw) => ({
      raw,
      m: meta(raw),
      cls: classByName.get(str(rec(rec(raw).spec).gatewayClassName) ?? ''),
    }))
    .sort((a, b) => byAgeThenName(a.m, b.m) || a.m.generation - b.m.generation || compareJSON(a.raw, b.raw));
  for (const { raw, m, cls } of ours)
    if (cls !== undefined && !gatewayByKey.has(keyOf(m)))
      gatewayByKey.set(keyOf(m), evaluateGateway(raw, cls.problem, secrets, grants, configMaps));
  const sets = attachListenerSets(arr(i.listenerSets), gatewayByKey, secrets, grants, labelsOf);
  const gateways = [...gatewayByKey.values()];
  const accepted = gateways.filter((g) => g.accepted.ok);
  const grantsOfPool = assignAddresses(
    str(i.addressPool) ?? '',
    accepted.map((g) => g.claim),
  );
  accepted.forEach((g, n) => (g.grant = grantsOfPool[n]));

  lastPhase = { deps, grants, labelsOf, classes, gatewayByKey, gateways, sets };
  return lastPhase;
}

/**
 * What of GatewayClasses or Gateways the Gateway phase reads: metadata but labels and annotations,
 * the spec, and for Gateways the addresses in their status. The controller's own status writes
 * (attachedRoutes changes with every route) then leave the phase, and every attachment, valid.
 */
function fingerprint(list: unknown, withAddresses: boolean): string {
  return JSON.stringify(
    arr(list).map((raw) => {
      const o = rec(raw);
      const m = rec(o.metadata);
      const addresses = withAddresses ? rec(o.status).addresses : undefined;
      return [m.namespace, m.name, m.uid, m.generation, m.creationTimestamp, o.spec, addresses];
    }),
  );
}

// Route attachments by compiled route, valid for one Gateway phase.
const attachedRoutes = new WeakMap<
  CompiledRoute,
  { phase: GatewayPhase; result: ReturnType<typeof attachRoute> }
>();

function attachRouteOnce(
  route: CompiledRoute,
  phase: GatewayPhase,
  controllerName: string,
): ReturnType<typeof attachRoute> {
  const hit = attachedRoutes.get(route);
  if (hit !== undefined && hit.phase === phase) return hit.result;
  const result = attachRoute(route, phase.gatewayByKey, phase.labelsOf, controllerName, phase.sets.byKey);
  attachedRoutes.set(route, { phase, result });
  return result;
}

/** Translates the objects into the IR and the statuses to write. */
export function translate(input: TranslateInput): TranslateOutput {
  const i = rec(input);
  const controllerName = str(i.controllerName) ?? '';
  const phase = gatewayPhase(i, controllerName);
  const { grants, classes, gateways } = phase;

  const policies = new BackendTLSPolicies(arr(i.backendTLSPolicies), arr(i.configMaps));
  const backends = new Backends(
    [...indexBy(arr(i.services), (o) => keyOf(meta(o))).values()],
    arr(i.endpointSlices),
    grants,
    policies,
  );
  const routeDeps = [i.services, i.endpointSlices, i.referenceGrants, i.backendTLSPolicies, i.configMaps];
  const routesOfGateways: { raw: unknown; parents: readonly RouteParentStatus[] }[] = [];
  const attachments: Attachment[] = [];
  const routeStatuses = (list: unknown, compile: typeof compileRoute) => {
    const statuses: (RouteStatusOutput & { key: string })[] = [];
    // One route per namespace/name (the oldest, should the input repeat one).
    const seenRoutes = new Set<string>();
    const routes = arr(list)
      .map((raw) => ({ raw, m: meta(raw) }))
      .sort(
        (a, b) => byAgeThenName(a.m, b.m) || a.m.generation - b.m.generation || compareJSON(a.raw, b.raw),
      );
    for (const { raw, m } of routes) {
      if (seenRoutes.has(m.key)) continue;
      seenRoutes.add(m.key);
      const route = compileRouteOnce(raw, backends, routeDeps, compile);
      const { parents, attachments: own } = attachRouteOnce(route, phase, controllerName);
      if (parents.length === 0) continue;
      statuses.push({ key: m.key, namespace: m.namespace, name: m.name, parents });
      routesOfGateways.push({ raw, parents });
      attachments.push(...own);
    }
    return statuses.sort((a, b) => compareStrings(a.key, b.key)).map(({ key: _, ...r }) => r);
  };
  const httpRoutes = routeStatuses(i.httpRoutes, compileRoute);
  const grpcRoutes = routeStatuses(i.grpcRoutes, compileGRPCRoute);

  const streamAttachments: StreamAttachment[] = [];
  const streamStatuses: Partial<Record<(typeof STREAM_KINDS)[number][1], RouteStatusOutput[]>> = {};
  for (const [kind, field] of STREAM_KINDS) {
    const seen = new Set<string>();
    const statuses: (RouteStatusOutput & { key: string })[] = [];
    const sorted = arr(i[field])
      .map((raw) => ({ raw, m: meta(raw) }))
      .sort(
        (a, b) => byAgeThenName(a.m, b.m) || a.m.generation - b.m.generation || compareJSON(a.raw, b.raw),
      );
    for (const { raw, m } of sorted) {
      if (seen.has(m.key)) continue;
      seen.add(m.key);
      const route = compileStreamRoute(raw, kind, backends);
      const { parents, attachments: own } = attachStreamRoute(
        route,
        phase.gatewayByKey,
        phase.labelsOf,
        controllerName,
        phase.sets.byKey,
      );
      if (parents.length === 0) continue;
      statuses.push({ key: m.key, namespace: m.namespace, name: m.name, parents });
      if (kind === 'TLSRoute') routesOfGateways.push({ raw, parents });
      streamAttachments.push(...own);
    }
    if (statuses.length > 0)
      streamStatuses[field] = statuses
        .sort((a, b) => compareStrings(a.key, b.key))
        .map(({ key: _, ...r }) => r);
  }

  const attachedCounts = new Map<GatewayState, Map<string, Set<object>>>();
  const setCounts = new Map<ListenerState, Set<object>>();
  for (const a of [...attachments, ...streamAttachments]) {
    if (phase.sets.owner.has(a.listener)) {
      let routes = setCounts.get(a.listener);
      if (routes === undefined) setCounts.set(a.listener, (routes = new Set()));
      routes.add(a.route);
      continue;
    }
    let perListener = attachedCounts.get(a.gateway);
    if (perListener === undefined) attachedCounts.set(a.gateway, (perListener = new Map()));
    let routes = perListener.get(a.listener.name);
    if (routes === undefined) perListener.set(a.listener.name, (routes = new Set()));
    routes.add(a.route);
  }

  // A pass over every route's backendRefs: only when some policy needs its ancestors.
  const gatewaysOf = policies.empty ? new Map() : gatewayRefsByService(routesOfGateways);
  const policyStatuses = policies.statuses((s) => gatewaysOf.get(s) ?? [], controllerName);
  const streams = buildStreams(gateways, streamAttachments);
  const gatewayStatuses = gateways
    .map((g) => {
      const counts = new Map<string, number>();
      for (const [name, routes] of attachedCounts.get(g) ?? []) counts.set(name, routes.size);
      const status = gatewayStatus(g, counts);
      const sets = phase.sets.attached.get(g.meta.key);
      if (sets !== undefined) status.attachedListenerSets = sets;
      const listenerSetPorts = setPorts(g);
      return {
        namespace: g.meta.namespace,
        name: g.meta.name,
        status,
        ...(listenerSetPorts.length > 0 ? { listenerSetPorts } : {}),
      };
    })
    .sort((a, b) => compareStrings(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
  const traffic = new TrafficPolicies(
    arr(i.trafficPolicies),
    indexBy([...arr(i.policySecrets), ...arr(i.secrets)], (s) => keyOf(meta(s))),
    [i.trafficPolicies, i.policySecrets, i.secrets],
    { resolve: (ref, namespace) => backends.resolve(ref, namespace), deps: routeDeps },
  );
  const trafficStatuses = traffic.empty
    ? []
    : traffic.statuses(policyWorld(gatewayStatuses, phase.sets, httpRoutes, i.httpRoutes), controllerName);
  const ir = deepFreeze(
    traffic.apply(
      streams.length === 0
        ? buildDataPlane(gateways, attachments)
        : { ...buildDataPlane(gateways, attachments), streams },
    ),
  );
  const setCountsByListener = new Map([...setCounts].map(([l, routes]) => [l, routes.size]));
  const listenerSets = [...phase.sets.byKey.values()]
    .map((s) => ({
      namespace: s.meta.namespace,
      name: s.meta.name,
      status: listenerSetStatus(s, setCountsByListener),
    }))
    .sort((a, b) => compareStrings(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
  return {
    ir,
    gatewayClasses: classes.map((c) => ({ name: c.name, status: c.status })),
    gateways: gatewayStatuses,
    ...(listenerSets.length > 0 ? { listenerSets } : {}),
    httpRoutes,
    ...(grpcRoutes.length > 0 ? { grpcRoutes } : {}),
    ...streamStatuses,
    ...(policyStatuses.length > 0 ? { backendTLSPolicies: policyStatuses } : {}),
    ...(trafficStatuses.length > 0 ? { trafficPolicies: trafficStatuses } : {}),
  };
}

/** The ports of the set listeners served on `g`, each once, by port then protocol. */
function setPorts(g: GatewayState): ListenerPort[] {
  const ports = new Map<string, ListenerPort>();
  for (const l of g.setListeners ?? []) {
    if (!isServable(l)) continue;
    const protocol = l.protocol === 'UDP' ? 'UDP' : 'TCP';
    ports.set(`${protocol}/${l.port}`, { port: l.port, protocol });
  }
  return [...ports.values()].sort((a, b) => a.port - b.port || compareStrings(a.protocol, b.protocol));
}

/**
 * What TrafficPolicy targets can name: our Gateways' listeners, their accepted ListenerSets'
 * listeners, and HTTPRoutes served by them (through a Gateway or a set).
 */
function policyWorld(
  gateways: TranslateOutput['gateways'],
  sets: ListenerSets,
  httpRoutes: TranslateOutput['httpRoutes'],
  rawRoutes: unknown,
): PolicyWorld {
  const listenerSets = new Map<string, { gateway: ParentReference; listeners: string[] }>();
  for (const [key, s] of sets.byKey)
    if (s.accepted.ok)
      listenerSets.set(key, {
        gateway: {
          group: GATEWAY_GROUP,
          kind: 'Gateway',
          namespace: s.gateway.meta.namespace,
          name: s.gateway.meta.name,
        },
        listeners: s.listeners.map((l) => l.name),
      });
  const raws = indexBy(arr(rawRoutes), (o) => keyOf(meta(o)));
  const routes = new Map<string, { gateways: ParentReference[]; rules: string[] }>();
  for (const r of httpRoutes) {
    const refs = new Map<string, ParentReference>();
    for (const p of r.parents) {
      if (!p.conditions.some((c) => c.type === 'Accepted' && c.status === 'True')) continue;
      const ref = rec(p.parentRef);
      const kind = str(ref.kind) ?? 'Gateway';
      const namespace = str(ref.namespace) || r.namespace;
      const name = str(ref.name) ?? '';
      const gateway =
        kind === 'Gateway'
          ? { group: GATEWAY_GROUP, kind, namespace, name }
          : kind === 'ListenerSet'
            ? listenerSets.get(`${namespace}/${name}`)?.gateway
            : undefined;
      if (gateway !== undefined) refs.set(`${gateway.namespace}/${gateway.name}`, gateway);
    }
    if (refs.size === 0) continue;
    const rules = arr(rec(rec(raws.get(`${r.namespace}/${r.name}`)).spec).rules).flatMap((rule) => {
      const name = str(rec(rule).name);
      return name ? [name] : [];
    });
    routes.set(`${r.namespace}/${r.name}`, { gateways: [...refs.values()], rules });
  }
  return {
    gateways: new Map(
      gateways.map((g) => [`${g.namespace}/${g.name}`, g.status.listeners.map((l) => l.name)]),
    ),
    listenerSets,
    routes,
  };
}
