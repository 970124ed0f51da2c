// Attachment of TLSRoutes, TCPRoutes and UDPRoutes, by the rules HTTPRoutes follow (attachment.ts):
// parentRefs select listeners by sectionName and port, a listener admits the route when its
// supportedKinds hold the route's kind (so a TLSRoute never attaches to an HTTP or HTTPS listener)
// and its namespaces allow it, and a TLSRoute needs a hostname in common with the listener.

import type { Condition, RouteParentStatus } from '../objects.ts';
import type { Problem } from './conditions.ts';
import { condition, conditionFor } from './conditions.ts';
import type { ListenerSetParent, NamespaceLabels, ServedHostname } from './attachment.ts';
import { ourParents, servedHostnames } from './attachment.ts';
import type { GatewayState } from './gateways.ts';
import { selects } from './label-selectors.ts';
import type { ListenerState } from './listeners.ts';
import type { StreamRoute } from './stream-routes.ts';

/** A stream route accepted on one listener. */
export interface StreamAttachment {
  readonly route: StreamRoute;
  readonly gateway: GatewayState;
  readonly listener: ListenerState;
  /** TLSRoute: the SNI hostnames it serves there; TCP and UDP: `*`. */
  readonly hostnames: readonly ServedHostname[];
}

function admits(l: ListenerState, home: string, route: StreamRoute, labels: NamespaceLabels): boolean {
  if (!l.supportedKinds.some((k) => k.kind === route.kind)) return false;
  switch (l.from) {
    case 'All':
      return true;
    case 'Same':
      return route.meta.namespace === home;
    case 'Selector':
      return (
        l.selector !== undefined && l.selector !== null && selects(l.selector, labels(route.meta.namespace))
      );
    default:
      return false;
  }
}

/** Our parent entries of a stream route (empty when no parentRef names one of our Gateways or their ListenerSets). */
export function attachStreamRoute(
  route: StreamRoute,
  gateways: ReadonlyMap<string, GatewayState>,
  labels: NamespaceLabels,
  controllerName: string,
  sets?: ReadonlyMap<string, ListenerSetParent>,
): { parents: RouteParentStatus[]; attachments: StreamAttachment[] } {
  const parents: RouteParentStatus[] = [];
  const attachments: StreamAttachment[] = [];
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
    const admitted = selected.filter((l) => admits(l, home, route, labels));
    const served = admitted
      .map((listener) => ({
        listener,
        hostnames:
          route.kind === 'TLSRoute'
            ? servedHostnames(listener.hostname, route.hostnames)
            : [{ host: '*', original: null }],
      }))
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
        message: `No listener allows this route (protocol, kinds, namespaces).`,
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
