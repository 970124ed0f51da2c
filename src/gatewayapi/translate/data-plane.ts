// Builds the data-plane IR from the programmed Gateways and the accepted route attachments.
// Virtual hosts: every hostname a route serves on a listener becomes one; a virtual host lists the
// routes of its own hostname first and then, as fall-through, the routes of every less specific
// hostname that covers it (the spec gives precedence to the route with the most specific matching
// hostname, it does not hide the others). Within that: the original route hostname's specificity,
// then the match precedence, then the oldest route, then namespace/name, then rule and match order.

import type { ClusterIR, DataPlaneIR, ListenerIR, PortIR, VirtualHostIR } from '../ir.ts';
import type { Attachment, ServedHostname } from './attachment.ts';
import type { GatewayState } from './gateways.ts';
import { addressesOf, programmedProblem } from './gateways.ts';
import { compareSpecificity, coveringHostnames } from './hostnames.ts';
import type { ListenerState } from './listeners.ts';
import { isServable } from './listeners.ts';
import { compareMatches } from './matches.ts';
import { compareStrings, keyOf } from './read.ts';
import type { CompiledRoute, RouteEntry } from './routes.ts';

interface Candidate {
  readonly route: CompiledRoute;
  readonly served: ServedHostname;
  readonly entry: RouteEntry;
}

function compareServed(a: ServedHostname, b: ServedHostname): number {
  return compareSpecificity(a.host, b.host) || compareSpecificity(a.original, b.original);
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    compareServed(a.served, b.served) ||
    compareMatches(a.entry.ir.match, b.entry.ir.match) ||
    (a.route.meta.created === b.route.meta.created
      ? 0
      : a.route.meta.created < b.route.meta.created
        ? -1
        : 1) ||
    compareStrings(keyOf(a.route.meta), keyOf(b.route.meta)) ||
    a.entry.ruleIndex - b.entry.ruleIndex ||
    a.entry.matchIndex - b.entry.matchIndex
  );
}

// A listener's virtual hosts by hostname, with the (attachment, served hostname) pairs that made
// each one, and the hostnames in order. A virtual host is a function of its pairs alone, and
// attachments are memoized per route, so a translation reuses every virtual host whose pairs are the
// same objects, and re-sorts only the hostnames that came or went: adding one route at 5,000 builds
// one virtual host, not 5,000 (and the data plane reuses the compiled tables of the others).
interface ListenerHosts {
  readonly byHost: Map<string, { readonly pairs: readonly unknown[]; readonly vh: VirtualHostIR }>;
  readonly sorted: readonly string[];
}
const hostsOfListener = new WeakMap<ListenerState, ListenerHosts>();
/** Beyond this many hostnames come or gone, sorting all of them again is as cheap. */
const MAX_MERGED = 64;

function samePairs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let n = 0; n < a.length; n++) if (a[n] !== b[n]) return false;
  return true;
}

function virtualHost(host: string, best: Map<Attachment, ServedHostname>): VirtualHostIR {
  const candidates: Candidate[] = [];
  for (const [a, served] of best)
    for (const entry of a.route.entries) candidates.push({ route: a.route, served, entry });
  return { hostname: host, routes: candidates.sort(compareCandidates).map((c) => c.entry.ir) };
}

/** The hostnames of `byServed`, most specific first, from the order of the last translation when few changed. */
function sortedHosts(byServed: ReadonlyMap<string, unknown>, before: ListenerHosts | undefined): string[] {
  if (before === undefined) return [...byServed.keys()].sort(compareSpecificity);
  const added: string[] = [];
  for (const h of byServed.keys()) if (!before.byHost.has(h) && added.push(h) > MAX_MERGED) break;
  let removed = 0;
  for (const h of before.sorted) if (!byServed.has(h)) removed++;
  if (added.length + removed > MAX_MERGED) return [...byServed.keys()].sort(compareSpecificity);
  const out = removed === 0 ? [...before.sorted] : before.sorted.filter((h) => byServed.has(h));
  for (const h of added) {
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareSpecificity(out[mid], h) < 0) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, h);
  }
  return out;
}

function virtualHosts(listener: ListenerState, attachments: readonly Attachment[]): VirtualHostIR[] {
  // Served hostname → the attachments serving it, so each virtual host looks up only the few
  // hostnames that can cover it instead of testing every attachment (quadratic at 5,000 routes).
  const byServed = new Map<string, { attachment: Attachment; served: ServedHostname }[]>();
  for (const attachment of attachments)
    for (const served of attachment.hostnames) {
      const list = byServed.get(served.host);
      if (list) list.push({ attachment, served });
      else byServed.set(served.host, [{ attachment, served }]);
    }
  const before = hostsOfListener.get(listener);
  const sorted = sortedHosts(byServed, before);
  const byHost: ListenerHosts['byHost'] = new Map();
  // Without wildcards among the served hostnames, a host is covered by itself alone.
  const wildcards = sorted.some((h) => h.startsWith('*'));
  const out = sorted.map((host) => {
    const hit = before?.byHost.get(host);
    const direct = byServed.get(host)!;
    if (!wildcards && direct.length === 1) {
      // The common case, one route for a name: no map, no new pair list when it is unchanged.
      const { attachment, served } = direct[0];
      if (
        hit !== undefined &&
        hit.pairs.length === 2 &&
        hit.pairs[0] === attachment &&
        hit.pairs[1] === served
      ) {
        byHost.set(host, hit);
        return hit.vh;
      }
    }
    const best = new Map<Attachment, ServedHostname>();
    for (const outer of wildcards ? coveringHostnames(host) : [host])
      for (const { attachment, served } of byServed.get(outer) ?? []) {
        const was = best.get(attachment);
        if (was === undefined || compareServed(served, was) < 0) best.set(attachment, served);
      }
    const pairs: unknown[] = [];
    for (const [a, served] of best) pairs.push(a, served);
    const vh = hit !== undefined && samePairs(hit.pairs, pairs) ? hit.vh : virtualHost(host, best);
    byHost.set(host, { pairs, vh });
    return vh;
  });
  hostsOfListener.set(listener, { byHost, sorted });
  return out;
}

function listenerIR(l: ListenerState, attachments: readonly Attachment[]): ListenerIR {
  return { name: l.name, hostname: l.hostname, tls: l.tls, virtualHosts: virtualHosts(l, attachments) };
}

/** The IR (not yet frozen) for `gateways` (oldest first) and the accepted `attachments`. */
export function buildDataPlane(
  gateways: readonly GatewayState[],
  attachments: readonly Attachment[],
): DataPlaneIR {
  // One attachment per (route, listener), whichever parentRef made it.
  const byListener = new Map<ListenerState, Map<string, Attachment>>();
  for (const a of attachments) {
    const routes = byListener.get(a.listener) ?? new Map<string, Attachment>();
    if (!routes.has(a.route.meta.key)) routes.set(a.route.meta.key, a);
    byListener.set(a.listener, routes);
  }
  const ports: PortIR[] = [];
  const clusters = new Map<string, ClusterIR>();
  for (const g of gateways) {
    if (programmedProblem(g) !== null) continue;
    const servable = g.listeners.filter(isServable);
    const portNumbers = [...new Set(servable.map((l) => l.port))].sort((a, b) => a - b);
    for (const port of portNumbers) {
      const onPort = servable
        .filter((l) => l.port === port)
        .sort((a, b) => compareSpecificity(a.hostname, b.hostname) || compareStrings(a.name, b.name));
      const listeners = onPort.map((l) => {
        const attached = [...(byListener.get(l)?.values() ?? [])];
        for (const a of attached) for (const [name, c] of a.route.clusters) clusters.set(name, c);
        return listenerIR(l, attached);
      });
      for (const address of addressesOf(g))
        ports.push({
          gateway: keyOf(g.meta),
          address,
          port,
          protocol: onPort[0].protocol ?? 'HTTP',
          listeners,
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
