import type { Family, PathAttributes } from '../message/index.ts';

/** A BGP neighbor as routing decisions see it. */
export interface PeerView {
  readonly address: string;
  readonly asn: number;
  readonly routerId: string;
  readonly ibgp: boolean;
  /** The peer is a route reflector client of this speaker. */
  readonly rrClient: boolean;
}

/** Where a route came from: this speaker, or a peer. */
export type RouteSource = { readonly kind: 'local' } | ({ readonly kind: 'peer' } & PeerView);

/** Path attributes of a route; the next hop is kept apart, per family. */
export type RouteAttributes = Omit<PathAttributes, 'nextHop' | 'mpReach' | 'mpUnreach'>;

/** One path to a prefix. */
export interface Route {
  readonly prefix: string;
  readonly family: Family;
  /** The next hop; empty for a route this speaker originates (next hop self on export). */
  readonly nextHop: string;
  readonly attributes: RouteAttributes;
  readonly source: RouteSource;
  /** Kept from a peer that is restarting gracefully, until it announces the route again. */
  readonly stale?: boolean;
}

/** A stable key for the source of a route (one path per source and prefix). */
export function sourceKey(s: RouteSource): string {
  return s.kind === 'local' ? 'local' : s.address;
}

/** AS path length as best path selection counts it: a set counts as one (RFC 4271 §9.1.2.2). */
export function asPathLength(a: RouteAttributes): number {
  let n = 0;
  for (const seg of a.asPath ?? [])
    n += seg.type === 'sequence' ? seg.asns.length : seg.type === 'set' ? 1 : 0;
  return n;
}

/** The AS a route was learned from (the first of its path), for MED comparison. */
export function neighborAs(a: RouteAttributes): number | undefined {
  const first = a.asPath?.[0];
  return first?.type === 'sequence' ? first.asns[0] : undefined;
}
