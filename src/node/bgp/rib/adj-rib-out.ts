import { familyOfText, type DecodeContext, type Family } from '../message/index.ts';
import { packAnnouncements, packWithdrawals } from './pack.ts';
import type { Route } from './route.ts';

/** This speaker's own next hops per family, used where a route's next hop is "self". */
export interface SelfNextHops {
  readonly ipv4?: string;
  readonly ipv6?: readonly string[];
}

/** What was announced to one peer (RFC 4271 §3.2, Adj-RIB-Out), and the UPDATEs that change it. */
export class AdjRibOut {
  readonly #sent = new Map<string, string>();
  readonly #families: readonly Family[];
  readonly #ctx: DecodeContext;
  readonly #self: SelfNextHops;

  constructor(families: readonly Family[], ctx: DecodeContext, self: SelfNextHops) {
    this.#families = families;
    this.#ctx = ctx;
    this.#self = self;
  }

  get size(): number {
    return this.#sent.size;
  }

  /** Prefixes announced now. */
  prefixes(): string[] {
    return [...this.#sent.keys()];
  }

  /**
   * The UPDATEs that make the peer hold `routes` for these prefixes (undefined: withdraw). Only
   * negotiated families are sent (a peer may reset the session otherwise); `force` re-sends
   * unchanged routes (ROUTE-REFRESH).
   */
  update(entries: Iterable<readonly [string, Route | undefined]>, force = false): Buffer[] {
    const groups = new Map<string, { route: Route; nextHops: string[]; prefixes: string[] }>();
    const withdraw = new Map<Family, string[]>();
    for (const [prefix, route] of entries) {
      const family = familyOfText(prefix);
      if (!this.#families.includes(family)) continue;
      const nextHops = route ? this.#nextHops(route) : undefined;
      if (!route || !nextHops) {
        if (!this.#sent.delete(prefix)) continue;
        const list = withdraw.get(family);
        if (list) list.push(prefix);
        else withdraw.set(family, [prefix]);
        continue;
      }
      const key = JSON.stringify([route.attributes, nextHops]);
      if (!force && this.#sent.get(prefix) === key) continue;
      this.#sent.set(prefix, key);
      const g = groups.get(key);
      if (g) g.prefixes.push(prefix);
      else groups.set(key, { route, nextHops, prefixes: [prefix] });
    }
    const out: Buffer[] = [];
    for (const [family, prefixes] of withdraw) out.push(...packWithdrawals(family, prefixes, this.#ctx));
    for (const g of groups.values())
      out.push(...packAnnouncements(g.route.family, g.route.attributes, g.nextHops, g.prefixes, this.#ctx));
    return out;
  }

  #nextHops(route: Route): string[] | undefined {
    if (route.nextHop !== '') return [route.nextHop];
    if (route.family === 'ipv4-unicast') return this.#self.ipv4 ? [this.#self.ipv4] : undefined;
    return this.#self.ipv6?.length ? [...this.#self.ipv6] : undefined;
  }
}
