// The stream part of the data-plane IR: per Gateway address and TLS, TCP or UDP port, its
// listeners most specific first, and per listener what each SNI hostname (TLS) or every
// connection (TCP, UDP) goes to. Among routes that claim one hostname of a listener, the one whose
// own hostname is most specific wins, then (and among TCP or UDP routes on one listener) the oldest
// (creation time, then namespace/name): all of them are Accepted and counted, only the winner gets
// traffic.

import type { StreamBackendIR, StreamHostIR, StreamListenerIR, StreamPortIR } from '../ir.ts';
import type { BackendClientCertificate } from './backend-client-certificate.ts';
import { streamBackendWithClient } from './backend-client-certificate.ts';
import type { GatewayState } from './gateways.ts';
import { addressesOf, programmedProblem } from './gateways.ts';
import { compareSpecificity } from './hostnames.ts';
import type { ListenerState } from './listeners.ts';
import { isServable } from './listeners.ts';
import { byAgeThenName, compareStrings, keyOf } from './read.ts';
import type { StreamAttachment } from './stream-attachment.ts';

function listenerIR(
  l: ListenerState,
  attached: readonly StreamAttachment[],
  client: BackendClientCertificate | null,
): StreamListenerIR {
  // Two routes can serve one hostname of a listener through different route hostnames (a listener's
  // `abc.example.com` from both `abc.example.com` and `*.example.com`): the more specific route
  // hostname wins over the older route.
  const claims = attached.flatMap((a) => a.hostnames.map(({ host, original }) => ({ a, host, original })));
  claims.sort(
    (x, y) => compareSpecificity(x.original, y.original) || byAgeThenName(x.a.route.meta, y.a.route.meta),
  );
  const byHost = new Map<string, StreamHostIR>();
  // Passed-through bytes are the client's own TLS: a BackendTLSPolicy re-encrypts only what the
  // listener terminated.
  const plain = (backends: readonly StreamBackendIR[]) =>
    l.tlsMode !== 'Terminate'
      ? backends.map(({ tls: _, ...b }) => b)
      : client === null
        ? backends
        : backends.map((b) => streamBackendWithClient(b, client));
  for (const { a, host } of claims)
    if (!byHost.has(host))
      byHost.set(host, { hostname: host, route: keyOf(a.route.meta), backends: plain(a.route.backends) });
  const hosts = [...byHost.values()].sort((a, b) => compareSpecificity(a.hostname, b.hostname));
  const tls =
    l.tlsMode === 'Passthrough'
      ? ({ mode: 'Passthrough' } as const)
      : l.tlsMode === 'Terminate' && l.tls !== null
        ? ({ mode: 'Terminate', certificates: l.tls.certificates } as const)
        : null;
  return { name: l.name, hostname: l.hostname, tls, hosts };
}

/** The stream sockets (not yet frozen) of `gateways` (oldest first) for the accepted `attachments`. */
export function buildStreams(
  gateways: readonly GatewayState[],
  attachments: readonly StreamAttachment[],
): StreamPortIR[] {
  const byListener = new Map<ListenerState, StreamAttachment[]>();
  // Listener names repeat across a Gateway and its ListenerSets: the listener object tells them apart.
  const seen = new Map<ListenerState, Set<string>>();
  for (const a of attachments) {
    const id = `${a.route.kind}/${keyOf(a.route.meta)}`;
    let ids = seen.get(a.listener);
    if (ids === undefined) seen.set(a.listener, (ids = new Set()));
    if (ids.has(id)) continue; // one attachment per (route, listener), whichever parentRef made it
    ids.add(id);
    byListener.set(a.listener, [...(byListener.get(a.listener) ?? []), a]);
  }
  const ports: StreamPortIR[] = [];
  for (const g of gateways) {
    if (programmedProblem(g) !== null) continue;
    const servable = [...g.listeners, ...(g.setListeners ?? [])].filter(
      (l) => isServable(l) && (l.protocol === 'TLS' || l.protocol === 'TCP' || l.protocol === 'UDP'),
    );
    const groups = new Map<string, ListenerState[]>();
    for (const l of servable) {
      const key = `${l.protocol}/${l.port}`;
      groups.set(key, [...(groups.get(key) ?? []), l]);
    }
    for (const onPort of groups.values()) {
      onPort.sort((a, b) => compareSpecificity(a.hostname, b.hostname) || compareStrings(a.name, b.name));
      const listeners = onPort.map((l) => listenerIR(l, byListener.get(l) ?? [], g.backendClient ?? null));
      const protocol = onPort[0].protocol as StreamPortIR['protocol'];
      for (const address of addressesOf(g))
        ports.push({ gateway: keyOf(g.meta), address, port: onPort[0].port, protocol, listeners });
    }
  }
  return ports.sort(
    (a, b) =>
      compareStrings(a.gateway, b.gateway) ||
      compareStrings(a.address, b.address) ||
      a.port - b.port ||
      compareStrings(a.protocol, b.protocol),
  );
}
