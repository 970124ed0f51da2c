// Builds the data-plane IR from the programmed Gateways and the accepted route attachments: one
// entry per bound socket, its listeners most specific first, each with its virtual hosts
// (virtual-hosts.ts), and the clusters the routes name.

import type { ClusterIR, DataPlaneIR, ListenerIR, PortIR } from '../ir.ts';
import type { Attachment } from './attachment.ts';
import { listenersWithClient } from './backend-client-certificate.ts';
import type { GatewayState } from './gateways.ts';
import { addressesOf, programmedProblem } from './gateways.ts';
import { compareSpecificity } from './hostnames.ts';
import type { ListenerState } from './listeners.ts';
import { isServable } from './listeners.ts';
import { compareStrings, keyOf } from './read.ts';
import type { CompiledRoute } from './routes.ts';
import { virtualHosts } from './virtual-hosts.ts';

function listenerIR(l: ListenerState, attachments: readonly Attachment[]): ListenerIR {
  const ir = { name: l.name, hostname: l.hostname, tls: l.tls, virtualHosts: virtualHosts(l, attachments) };
  return l.listenerSet === undefined ? ir : { ...ir, listenerSet: l.listenerSet };
}

/** The IR (not yet frozen) for `gateways` (oldest first) and the accepted `attachments`. */
export function buildDataPlane(
  gateways: readonly GatewayState[],
  attachments: readonly Attachment[],
): DataPlaneIR {
  // One attachment per (route, listener), whichever parentRef made it.
  const byListener = new Map<ListenerState, { routes: Set<CompiledRoute>; attached: Attachment[] }>();
  for (const a of attachments) {
    let l = byListener.get(a.listener);
    if (l === undefined) byListener.set(a.listener, (l = { routes: new Set(), attached: [] }));
    if (l.routes.has(a.route)) continue;
    l.routes.add(a.route);
    l.attached.push(a);
  }
  const ports: PortIR[] = [];
  const clusters = new Map<string, ClusterIR>();
  for (const g of gateways) {
    if (programmedProblem(g) !== null) continue;
    // TLS, TCP and UDP listeners are served apart (streams.ts).
    const servable = [...g.listeners, ...(g.setListeners ?? [])].filter(
      (l) => isServable(l) && (l.protocol === 'HTTP' || l.protocol === 'HTTPS'),
    );
    const portNumbers = [...new Set(servable.map((l) => l.port))].sort((a, b) => a - b);
    for (const port of portNumbers) {
      const onPort = servable
        .filter((l) => l.port === port)
        .sort((a, b) => compareSpecificity(a.hostname, b.hostname) || compareStrings(a.name, b.name));
      const shared = onPort.map((l) => {
        const attached = byListener.get(l)?.attached ?? [];
        for (const a of attached) for (const [name, c] of a.route.clusters) clusters.set(name, c);
        return listenerIR(l, attached);
      });
      const listeners =
        g.backendClient === undefined
          ? shared
          : listenersWithClient(shared, clusters, keyOf(g.meta), g.backendClient);
      // The Gateway's frontend TLS is per port, so every HTTPS listener here has the same.
      const clientValidation = onPort[0].protocol === 'HTTPS' ? onPort[0].clientValidation : null;
      for (const address of addressesOf(g))
        ports.push({
          gateway: keyOf(g.meta),
          address,
          port,
          protocol: onPort[0].protocol === 'HTTPS' ? 'HTTPS' : 'HTTP',
          listeners,
          ...(clientValidation ? { clientValidation } : {}),
        });
    }
  }
  const sortedClusters: Record<string, ClusterIR> = {};
  for (const name of [...clusters.keys()].sort(compareStrings))
    sortedClusters[name] = clusters.get(name) as ClusterIR;
  ports.sort(
    (a, b) => compareStrings(a.gateway, b.gateway) || compareStrings(a.address, b.address) || a.port - b.port,
  );
  return { ports, clusters: sortedClusters };
}
