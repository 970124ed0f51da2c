import { addressBytes } from '../message/index.ts';
import { asPathLength, neighborAs, type Route } from './route.ts';

const ORIGIN_RANK = { igp: 0, egp: 1, incomplete: 2 } as const;
const DEFAULT_LOCAL_PREF = 100;

const ipNumber = (a: string) => (a === '' ? 0 : addressBytes(a).readUInt32BE(0));

/**
 * Orders two paths to one prefix, best first, on the steps that decide multipath too: local pref,
 * locally originated, AS path length, origin, MED (same neighbor AS), eBGP over iBGP.
 */
export function compareMultipath(a: Route, b: Route): number {
  const lp = (r: Route) => r.attributes.localPref ?? DEFAULT_LOCAL_PREF;
  if (lp(a) !== lp(b)) return lp(b) - lp(a);
  const local = (r: Route) => (r.source.kind === 'local' ? 0 : 1);
  if (local(a) !== local(b)) return local(a) - local(b);
  if (asPathLength(a.attributes) !== asPathLength(b.attributes))
    return asPathLength(a.attributes) - asPathLength(b.attributes);
  const origin = (r: Route) => ORIGIN_RANK[r.attributes.origin ?? 'incomplete'];
  if (origin(a) !== origin(b)) return origin(a) - origin(b);
  if (neighborAs(a.attributes) === neighborAs(b.attributes)) {
    const med = (r: Route) => r.attributes.med ?? 0;
    if (med(a) !== med(b)) return med(a) - med(b);
  }
  const ibgp = (r: Route) => (r.source.kind === 'peer' && r.source.ibgp ? 1 : 0);
  return ibgp(a) - ibgp(b);
}

/** The full order: then lowest router id (ORIGINATOR_ID when reflected), then lowest peer address. */
export function comparePaths(a: Route, b: Route): number {
  const m = compareMultipath(a, b);
  if (m !== 0) return m;
  const id = (r: Route) =>
    r.source.kind === 'local' ? 0 : ipNumber(r.attributes.originatorId ?? r.source.routerId);
  if (id(a) !== id(b)) return id(a) - id(b);
  // Fewer reflections first (RFC 4456 §9).
  const cl = (r: Route) => r.attributes.clusterList?.length ?? 0;
  if (cl(a) !== cl(b)) return cl(a) - cl(b);
  const addr = (r: Route) => (r.source.kind === 'local' ? '' : r.source.address);
  return addr(a) < addr(b) ? -1 : addr(a) > addr(b) ? 1 : 0;
}

/** The best path and the equal-cost set (distinct next hops of paths equal to it up to multipath). */
export function selectBest(paths: readonly Route[]): { best?: Route; ecmp: Route[] } {
  if (paths.length === 0) return { ecmp: [] };
  const sorted = [...paths].sort(comparePaths);
  const best = sorted[0];
  const hops = new Set<string>();
  const ecmp: Route[] = [];
  for (const r of sorted) {
    if (compareMultipath(best, r) !== 0) break;
    if (hops.has(r.nextHop)) continue;
    hops.add(r.nextHop);
    ecmp.push(r);
  }
  return { best, ecmp };
}
