import type { Family } from '../message/index.ts';
import type { Route } from './route.ts';

/** The routes one peer announced, after import policy (RFC 4271 §3.2, Adj-RIB-In). */
export class AdjRibIn {
  readonly #routes = new Map<string, Route>();

  get size(): number {
    return this.#routes.size;
  }

  set(route: Route): void {
    this.#routes.set(route.prefix, route);
  }

  delete(prefix: string): Route | undefined {
    const r = this.#routes.get(prefix);
    this.#routes.delete(prefix);
    return r;
  }

  routes(): IterableIterator<Route> {
    return this.#routes.values();
  }

  /** Marks every route of the families stale (the peer is restarting) and returns them. */
  markStale(families?: readonly Family[]): Route[] {
    const out: Route[] = [];
    for (const r of this.#routes.values())
      if (!families || families.includes(r.family)) {
        const s = { ...r, stale: true };
        this.#routes.set(r.prefix, s);
        out.push(s);
      }
    return out;
  }

  /** Removes the routes of a family still stale (not announced again) and returns their prefixes. */
  flushStale(family?: Family): string[] {
    const gone: string[] = [];
    for (const r of [...this.#routes.values()])
      if (r.stale && (!family || r.family === family)) {
        this.#routes.delete(r.prefix);
        gone.push(r.prefix);
      }
    return gone;
  }
}
