// Route attachment: which listeners of our Gateways an HTTPRoute's (or GRPCRoute's) parentRefs select (sectionName,
// port), which of those admit it (allowedRoutes namespaces and kinds), and the hostnames the route
// serves there (route hostnames intersected with the listener hostname). Attachment depends only on
// these, not on the listener's health, so routes count in attachedRoutes of unresolved listeners too;
// a Gateway that is not accepted accepts no route (NoMatchingParent).

import type { Condition, ParentReference, RouteParentStatus } from '../objects.ts';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP, condition, conditionFor } from './conditions.ts';
import type { GatewayState } from './gateways.ts';
import { intersect } from './hostnames.ts';
import { selects } from './label-selectors.ts';
import type { ListenerState } from './listeners.ts';
import { int, keyOf, rec, str, text } from './read.ts';
import type { CompiledRoute } from './routes.ts';

/** A hostname a route serves on a listener, and the route hostname it came from (null: none given). */
export interface ServedHostname {
  readonly host: string;
  readonly original: string | null;
}

/** A route accepted on one listener. */
export interface Attachment {
  readonly route: CompiledRoute;
  readonly gateway: GatewayState;
  readonly listener: ListenerState;
  readonly hostnames: readonly ServedHostname[];
}

/** The hostnames `route` serves on a listener with hostname `listener`; empty: no intersection. */
export function servedHostnames(listener: string | null, route: readonly string[]): ServedHostname[] {
  if (route.length === 0) return [{ host: listener ?? '*', original: null }];
  const out: ServedHostname[] = [];
  for (const original of route) {
    const host = intersect(listener, original);
    if (host !== null) out.push({ host, original });
  }
  return out;
}

function admits(
  kind: CompiledRoute['kind'],
  l: ListenerState,
  home: string,
  routeNamespace: string,
  labels: NamespaceLabels,
): boolean {
  if (!l.supportedKinds.some((k) => k.kind === kind)) return false;
  switch (l.from) {
    case 'All':
      return true;
    case 'Same':
      return routeNamespace === home;
    case 'Selector':
      return l.selector !== undefined && l.selector !== null && selects(l.selector, labels(routeNamespace));
    default:
      return false;
  }
}

/** Labels of a namespace by name. */
export type NamespaceLabels = (namespace: string) => Readonly<Record<string, string>>;

/** A ListenerSet of one of our Gateways, as routes attach to it (listener-sets.ts). */
export interface ListenerSetParent {
  readonly gateway: GatewayState;
  readonly namespace: string;
  readonly listeners: readonly ListenerState[];
  /** Why it takes no route (not accepted), or null. */
  readonly problem: Problem | null;
}

/** A parentRef that names one of our Gateways (or a ListenerSet of one), resolved. */
export interface OurParent {
  readonly gateway: GatewayState;
  readonly parentRef: ParentReference;
  readonly namespace: string;
  readonly name: string;
  readonly sectionName: string | undefined;
  readonly port: number | undefined;
  /** The listeners the parentRef selects among: the Gateway's own, or the ListenerSet's. */
  readonly listeners: readonly ListenerState[];
  /** The namespace a listener's `from: Same` means (the Gateway's or the ListenerSet's). */
  readonly home: string;
  /** Why the parent takes no route, or null. */
  readonly problem: Problem | null;
}

const NO_SETS: ReadonlyMap<string, ListenerSetParent> = new Map();

/** The parentRefs of a route that name one of our Gateways or their ListenerSets, each distinct one once. */
export function* ourParents(
  parentRefs: readonly unknown[],
  routeNamespace: string,
  gateways: ReadonlyMap<string, GatewayState>,
  sets: ReadonlyMap<string, ListenerSetParent> = NO_SETS,
): Generator<OurParent> {
  const seen = new Set<string>();
  for (const raw of parentRefs) {
    const p = rec(raw);
    const kind = str(p.kind) ?? 'Gateway';
    if ((str(p.group) ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (kind !== 'Gateway' && kind !== 'ListenerSet'))
      continue;
    const namespace = text(p.namespace) ?? routeNamespace;
    const name = str(p.name) ?? '';
    const set = kind === 'ListenerSet' ? sets.get(`${namespace}/${name}`) : undefined;
    const gateway = kind === 'Gateway' ? gateways.get(`${namespace}/${name}`) : set?.gateway;
    if (gateway === undefined) continue;
    const sectionName = text(p.sectionName);
    const port = int(p.port);
    const parentRef: ParentReference = { group: GATEWAY_GROUP, kind, namespace, name };
    if (sectionName !== undefined) parentRef.sectionName = sectionName;
    if (port !== undefined) parentRef.port = port;
    const key = JSON.stringify(parentRef);
    if (seen.has(key)) continue;
    seen.add(key);
    const problem: Problem | null = !gateway.accepted.ok
      ? { reason: 'NoMatchingParent', message: `Gateway ${keyOf(gateway.meta)} is not accepted.` }
      : (set?.problem ?? null);
    const listeners = set?.listeners ?? gateway.listeners;
    const home = set?.namespace ?? gateway.meta.namespace;
    yield { gateway, parentRef, namespace, name, sectionName, port, listeners, home, problem };
  }
}

/** Our parent entries of a route (empty when no parentRef names one of our Gateways or their ListenerSets). */
export function attachRoute(
  route: CompiledRoute,
  gateways: ReadonlyMap<string, GatewayState>,
  labels: NamespaceLabels,
  controllerName: string,
  sets?: ReadonlyMap<string, ListenerSetParent>,
): { parents: RouteParentStatus[]; attachments: Attachment[] } {
  const parents: RouteParentStatus[] = [];
  const attachments: Attachment[] = [];
  const gen = route.meta.generation;
  for (const { gateway, parentRef, sectionName, port, listeners, home, problem } of ourParents(
    route.parentRefs,
    route.meta.namespace,
    gateways,
    sets,
  )) {
    const selected = listeners.filter(
      (l) => (sectionName === undefined || l.name === sectionName) && (port === undefined || l.port === port),
    );
    const admitted = selected.filter((l) => admits(route.kind, l, home, route.meta.namespace, labels));
    const served = admitted
      .map((listener) => ({ listener, hostnames: servedHostnames(listener.hostname, route.hostnames) }))
      .filter((a) => a.hostnames.length > 0);
    let refused: Problem | null;
    if (problem !== null) refused = problem;
    else if (selected.length === 0)
      refused = {
        reason: 'NoMatchingParent',
        message: 'No listener matches the parentRef sectionName and port.',
      };
    else if (admitted.length === 0)
      refused = {
        reason: 'NotAllowedByListeners',
        message: 'No listener allows this route (namespaces, kinds).',
      };
    else if (served.length === 0)
      refused = {
        reason: 'NoMatchingListenerHostname',
        message: 'No listener hostname matches the route hostnames.',
      };
    else refused = route.notAccepted;
    if (refused === null) for (const a of served) attachments.push({ route, gateway, ...a });
    const conditions: Condition[] = [
      refused === null
        ? condition('Accepted', true, 'Accepted', 'Route is accepted.', gen)
        : condition('Accepted', false, refused.reason, refused.message, gen),
      conditionFor('ResolvedRefs', route.resolvedRefs, 'ResolvedRefs', 'References are resolved.', gen),
    ];
    parents.push({ parentRef, controllerName, conditions });
  }
  return { parents, attachments };
}
