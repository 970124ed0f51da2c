import { COMMUNITY_NO_ADVERTISE, COMMUNITY_NO_EXPORT } from '../message/index.ts';
import type { PeerView, Route, RouteAttributes } from './route.ts';

/** What this speaker is, as the iBGP/eBGP rules need it. */
export interface LocalSpeaker {
  readonly asn: number;
  readonly routerId: string;
  /** Cluster id as route reflector (RFC 4456); the router id by default. */
  readonly clusterId: string;
  /** This speaker reflects routes between iBGP peers (it has route reflector clients). */
  readonly routeReflector: boolean;
}

/**
 * Whether and how the best path goes to a peer (RFC 4271 §9.1.3, RFC 4456 §6, RFC 1997): never back
 * to its source, iBGP-learned routes to iBGP peers only by a route reflector, well-known
 * communities honoured; the attributes rewritten for eBGP (own AS prepended, LOCAL_PREF and
 * reflection attributes dropped) or for reflection (ORIGINATOR_ID, CLUSTER_LIST).
 */
export function exportRoute(route: Route, to: PeerView, self: LocalSpeaker): Route | undefined {
  const src = route.source;
  if (src.kind === 'peer' && src.address === to.address) return undefined;
  const communities = route.attributes.communities ?? [];
  if (communities.includes(COMMUNITY_NO_ADVERTISE)) return undefined;
  if (!to.ibgp && communities.includes(COMMUNITY_NO_EXPORT)) return undefined;
  let a: RouteAttributes = route.attributes;
  if (src.kind === 'peer' && src.ibgp && to.ibgp) {
    if (!self.routeReflector) return undefined;
    // Client routes go to everyone; non-client routes only to clients.
    if (!src.rrClient && !to.rrClient) return undefined;
    a = {
      ...a,
      originatorId: a.originatorId ?? src.routerId,
      clusterList: [self.clusterId, ...(a.clusterList ?? [])],
    };
  }
  if (to.ibgp) {
    a = { ...a, localPref: a.localPref ?? 100, origin: a.origin ?? 'igp', asPath: a.asPath ?? [] };
    return { ...route, attributes: a };
  }
  const { localPref: _lp, originatorId: _o, clusterList: _c, ...rest } = a;
  const path = rest.asPath ?? [];
  const first = path[0];
  const asPath =
    first?.type === 'sequence' && first.asns.length < 255
      ? [{ type: 'sequence' as const, asns: [self.asn, ...first.asns] }, ...path.slice(1)]
      : [{ type: 'sequence' as const, asns: [self.asn] }, ...path];
  // A MED learned from another AS is not passed on to a third (RFC 4271 §5.1.4).
  const med = src.kind === 'local' ? rest.med : undefined;
  return { ...route, nextHop: '', attributes: { ...rest, origin: rest.origin ?? 'igp', asPath, med } };
}

/** Import loop checks: our AS in an eBGP path, our router id as originator, our cluster id in the list. */
export function importLoops(route: Route, from: PeerView, self: LocalSpeaker): boolean {
  const a = route.attributes;
  if (!from.ibgp && a.asPath?.some((s) => s.asns.includes(self.asn))) return true;
  if (a.originatorId === self.routerId) return true;
  return a.clusterList?.includes(self.clusterId) ?? false;
}
