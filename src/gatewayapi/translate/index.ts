// The translator: Gateway API objects in, data-plane IR and status out. Pure and deterministic (no
// clock, no randomness, no I/O) and total: any input, however malformed, gives an answer.

import type { DataPlaneIR } from '../ir.ts';
import type {
  Condition,
  EndpointSlice,
  Gateway,
  GatewayClass,
  GatewayStatus,
  HTTPRoute,
  Namespace,
  ReferenceGrant,
  RouteParentStatus,
  Secret,
  Service,
  TCPRoute,
  TLSRoute,
  UDPRoute,
} from '../objects.ts';
import { assignAddresses } from './address-pool.ts';
import type { Attachment, NamespaceLabels } from './attachment.ts';
import { attachRoute } from './attachment.ts';
import { Backends } from './backends.ts';
import { buildDataPlane } from './data-plane.ts';
import { deepFreeze } from './freeze.ts';
import type { GatewayClassResult } from './gateway-classes.ts';
import { evaluateGatewayClasses } from './gateway-classes.ts';
import type { GatewayState } from './gateways.ts';
import { evaluateGateway, gatewayStatus } from './gateways.ts';
import { arr, byAgeThenName, compareJSON, compareStrings, indexBy, keyOf, meta, rec, str } from './read.ts';
import { ReferenceGrants } from './reference-grants.ts';
import { compileRoute, type CompiledRoute } from './routes.ts';
import { attachStreamRoute, type StreamAttachment } from './stream-attachment.ts';
import { compileStreamRoute, type StreamRouteKind } from './stream-routes.ts';
import { buildStreams } from './streams.ts';

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
  httpRoutes: HTTPRoute[];
  /** The stream routes; absent reads as none. */
  tlsRoutes?: TLSRoute[];
  tcpRoutes?: TCPRoute[];
  udpRoutes?: UDPRoute[];
  referenceGrants: ReferenceGrant[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  secrets: Secret[];
  namespaces: Namespace[];
}

export interface TranslateOutput {
  /** Deeply frozen. */
  ir: DataPlaneIR;
  /** Only classes whose spec.controllerName is ours. */
  gatewayClasses: {
    name: string;
    status: { conditions: Condition[]; supportedFeatures: { name: string }[] };
  }[];
  /** Only Gateways of our classes. */
  gateways: { namespace: string; name: string; status: GatewayStatus }[];
  /** Every HTTPRoute with a parentRef to one of our Gateways; `parents` holds only our entries. */
  httpRoutes: { namespace: string; name: string; parents: RouteParentStatus[] }[];
  /** As `httpRoutes`, for each stream route kind; present only when it has an entry. */
  tlsRoutes?: RouteStatusOutput[];
  tcpRoutes?: RouteStatusOutput[];
  udpRoutes?: RouteStatusOutput[];
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

function compileRouteOnce(raw: unknown, backends: Backends, deps: readonly unknown[]): CompiledRoute {
  if (raw === null || typeof raw !== 'object') return compileRoute(raw, backends);
  const hit = compiledRoutes.get(raw);
  if (hit !== undefined && hit.deps.every((d, n) => d === deps[n])) return hit.route;
  const route = compileRoute(raw, backends);
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
}

// The last Gateway phase, reused while its inputs are the same arrays: a route change then
// re-attaches only the routes that changed (attachments and route statuses are memoized on it).
let lastPhase: GatewayPhase | null = null;

/** GatewayClasses, Gateways (with addresses) and what route attachment reads, from the inputs. */
function gatewayPhase(i: Record<string, unknown>, controllerName: string): GatewayPhase {
  const deps = [
    fingerprint(i.gatewayClasses, false),
    fingerprint(i.gateways, true),
    i.namespaces,
    i.secrets,
    i.referenceGrants,
    i.addressPool,
    controllerName,
  ];
  if (lastPhase !== null && lastPhase.deps.every((d, n) => d === deps[n])) return lastPhase;
  const grants = new ReferenceGrants(arr(i.referenceGrants));
  const secrets = indexBy(arr(i.secrets), (s) => keyOf(meta(s)));
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
      gatewayByKey.set(keyOf(m), evaluateGateway(raw, cls.problem, secrets, grants));
  const gateways = [...gatewayByKey.values()];
  const accepted = gateways.filter((g) => g.accepted.ok);
  const grantsOfPool = assignAddresses(
    str(i.addressPool) ?? '',
    accepted.map((g) => g.claim),
  );
  accepted.forEach((g, n) => (g.grant = grantsOfPool[n]));

  lastPhase = { deps, grants, labelsOf, classes, gatewayByKey, gateways };
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
  const result = attachRoute(route, phase.gatewayByKey, phase.labelsOf, controllerName);
  attachedRoutes.set(route, { phase, result });
  return result;
}

/** Translates the objects into the IR and the statuses to write. */
export function translate(input: TranslateInput): TranslateOutput {
  const i = rec(input);
  const controllerName = str(i.controllerName) ?? '';
  const phase = gatewayPhase(i, controllerName);
  const { grants, classes, gateways } = phase;

  const backends = new Backends(
    [...indexBy(arr(i.services), (o) => keyOf(meta(o))).values()],
    arr(i.endpointSlices),
    grants,
  );
  const routeDeps = [i.services, i.endpointSlices, i.referenceGrants];
  const attachments: Attachment[] = [];
  const httpRoutes: (TranslateOutput['httpRoutes'][number] & { key: string })[] = [];
  // One route per namespace/name (the oldest, should the input repeat one).
  const seenRoutes = new Set<string>();
  const routes = arr(i.httpRoutes)
    .map((raw) => ({ raw, m: meta(raw) }))
    .sort((a, b) => byAgeThenName(a.m, b.m) || a.m.generation - b.m.generation || compareJSON(a.raw, b.raw));
  for (const { raw, m } of routes) {
    if (seenRoutes.has(m.key)) continue;
    seenRoutes.add(m.key);
    const route = compileRouteOnce(raw, backends, routeDeps);
    const { parents, attachments: own } = attachRouteOnce(route, phase, controllerName);
    if (parents.length === 0) continue;
    httpRoutes.push({ key: m.key, namespace: m.namespace, name: m.name, parents });
    attachments.push(...own);
  }

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
      );
      if (parents.length === 0) continue;
      statuses.push({ key: m.key, namespace: m.namespace, name: m.name, parents });
      streamAttachments.push(...own);
    }
    if (statuses.length > 0)
      streamStatuses[field] = statuses
        .sort((a, b) => compareStrings(a.key, b.key))
        .map(({ key: _, ...r }) => r);
  }

  const attachedCounts = new Map<GatewayState, Map<string, Set<object>>>();
  for (const a of [...attachments, ...streamAttachments]) {
    let perListener = attachedCounts.get(a.gateway);
    if (perListener === undefined) attachedCounts.set(a.gateway, (perListener = new Map()));
    let routes = perListener.get(a.listener.name);
    if (routes === undefined) perListener.set(a.listener.name, (routes = new Set()));
    routes.add(a.route);
  }

  const streams = buildStreams(gateways, streamAttachments);
  const ir = deepFreeze(
    streams.length === 0
      ? buildDataPlane(gateways, attachments)
      : { ...buildDataPlane(gateways, attachments), streams },
  );
  return {
    ir,
    gatewayClasses: classes.map((c) => ({ name: c.name, status: c.status })),
    gateways: gateways
      .map((g) => {
        const counts = new Map<string, number>();
        for (const [name, routes] of attachedCounts.get(g) ?? []) counts.set(name, routes.size);
        return { namespace: g.meta.namespace, name: g.meta.name, status: gatewayStatus(g, counts) };
      })
      .sort((a, b) => compareStrings(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`)),
    httpRoutes: httpRoutes.sort((a, b) => compareStrings(a.key, b.key)).map(({ key: _, ...r }) => r),
    ...streamStatuses,
  };
}
