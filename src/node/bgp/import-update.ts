import type { DecodedUpdate, Family } from './message/index.ts';
import type { Route, RouteAttributes, RouteSource } from './rib/index.ts';

/** What one UPDATE means for the Adj-RIB-In: prefixes withdrawn and routes announced. */
export interface ImportedUpdate {
  readonly withdrawn: readonly string[];
  readonly announced: readonly Route[];
  readonly endOfRib?: Family;
}

/** Turns a decoded UPDATE into routes; one marked treat-as-withdraw withdraws all it names (RFC 7606). */
export function importUpdate(
  u: DecodedUpdate,
  source: RouteSource,
  families: readonly Family[],
): ImportedUpdate {
  const { nextHop, mpReach, mpUnreach, ...attributes } = u.attributes;
  const withdrawn = [
    ...u.withdrawn,
    ...(mpUnreach && families.includes(mpUnreach.family) ? mpUnreach.withdrawn : []),
  ];
  const announced: Route[] = [];
  const add = (family: Family, hop: string, prefixes: readonly string[]) => {
    if (!families.includes(family)) return;
    for (const prefix of prefixes)
      announced.push({ prefix, family, nextHop: hop, attributes: attributes as RouteAttributes, source });
  };
  if (u.nlri.length && nextHop) add('ipv4-unicast', nextHop, u.nlri);
  // The global IPv6 next hop is used; a link-local second one (RFC 2545) is not needed off-link.
  if (mpReach) add(mpReach.family, mpReach.nextHops[0], mpReach.nlri);
  if (u.treatAsWithdraw)
    return { withdrawn: [...withdrawn, ...announced.map((r) => r.prefix)], announced: [] };
  return { withdrawn, announced, endOfRib: u.endOfRib };
}
