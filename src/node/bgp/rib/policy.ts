import { parsePrefix } from '../message/index.ts';
import type { PeerView, Route } from './route.ts';

/** Rewrites or rejects (undefined) a route learned from a peer, before it enters the Adj-RIB-In. */
export type ImportPolicy = (route: Route, from: PeerView) => Route | undefined;
/** Rewrites or rejects (undefined) a route about to be announced to a peer. */
export type ExportPolicy = (route: Route, to: PeerView) => Route | undefined;

/** Runs policies in order; the first rejection wins. */
export function chainPolicies<P extends ImportPolicy | ExportPolicy>(...policies: P[]): P {
  return ((route: Route, peer: PeerView) => {
    let r: Route | undefined = route;
    for (const p of policies) if (r) r = p(r, peer);
    return r;
  }) as P;
}

/** True when `prefix` lies inside `within` (same family, at least as long, same leading bits). */
export function prefixWithin(prefix: string, within: string): boolean {
  const p = parsePrefix(prefix);
  const w = parsePrefix(within);
  if (p.family !== w.family || p.length < w.length) return false;
  for (let bit = 0; bit < w.length; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((p.bytes[bit >> 3] & mask) !== (w.bytes[bit >> 3] & mask)) return false;
  }
  return true;
}

/** Import: refuses any prefix inside the given ranges (service addresses are never imported). */
export function rejectPrefixesWithin(ranges: readonly string[]): ImportPolicy {
  return (route) => (ranges.some((r) => prefixWithin(route.prefix, r)) ? undefined : route);
}

/** Export: adds communities and large communities (kube-router's `node.bgp.communities`). */
export function addCommunities(
  communities: readonly number[],
  large: readonly (readonly [number, number, number])[] = [],
): ExportPolicy {
  return (route) => {
    const a = route.attributes;
    const c = [...new Set([...(a.communities ?? []), ...communities])];
    const l = [...(a.largeCommunities ?? []), ...large];
    return {
      ...route,
      attributes: {
        ...a,
        ...(c.length ? { communities: c } : {}),
        ...(l.length ? { largeCommunities: l } : {}),
      },
    };
  };
}

/** Export: prepends `asn` `count` times to the AS path (kube-router's `path-prepend.*`), eBGP only. */
export function prependAsPath(asn: number, count: number): ExportPolicy {
  return (route, to) => {
    if (to.ibgp || count <= 0) return route;
    const path = route.attributes.asPath ?? [];
    const prepend = Array<number>(count).fill(asn);
    const first = path[0];
    const asPath =
      first?.type === 'sequence'
        ? [{ type: 'sequence' as const, asns: [...prepend, ...first.asns] }, ...path.slice(1)]
        : [{ type: 'sequence' as const, asns: prepend }, ...path];
    return { ...route, attributes: { ...route.attributes, asPath } };
  };
}

/** Parses "65000:100" into an RFC 1997 community number. */
export function parseCommunity(text: string): number {
  const m = /^(\d+):(\d+)$/.exec(text);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff)
    throw new TypeError(`community: "AS:value", not ${text}`);
  return Number(m[1]) * 0x10000 + Number(m[2]);
}
