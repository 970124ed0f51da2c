import { selectBest } from './best-path.ts';
import { sourceKey, type Route } from './route.ts';

/** The selected paths of one prefix after a change. */
export interface LocRibChange {
  readonly prefix: string;
  /** The best path, or undefined when the prefix is gone. */
  readonly best?: Route;
  /** Equal-cost paths with distinct next hops, best first (for ECMP routes in the kernel). */
  readonly ecmp: readonly Route[];
}

/** All usable paths per prefix and the best of each (RFC 4271 §3.2, Loc-RIB). */
export class LocRib {
  readonly #paths = new Map<string, Map<string, Route>>();
  readonly #selected = new Map<string, LocRibChange>();
  readonly #listeners: ((c: LocRibChange) => void)[] = [];

  onChange(listener: (c: LocRibChange) => void): void {
    this.#listeners.push(listener);
  }

  /** Adds or replaces the path of `route.source` to `route.prefix`. */
  set(route: Route): void {
    let m = this.#paths.get(route.prefix);
    if (!m) this.#paths.set(route.prefix, (m = new Map()));
    m.set(sourceKey(route.source), route);
    this.#reselect(route.prefix);
  }

  /** Removes the path a source had to a prefix. */
  delete(prefix: string, source: string): void {
    const m = this.#paths.get(prefix);
    if (!m?.delete(source)) return;
    if (m.size === 0) this.#paths.delete(prefix);
    this.#reselect(prefix);
  }

  get(prefix: string): LocRibChange | undefined {
    return this.#selected.get(prefix);
  }

  /** Every selected prefix. */
  selected(): IterableIterator<LocRibChange> {
    return this.#selected.values();
  }

  #reselect(prefix: string): void {
    const { best, ecmp } = selectBest([...(this.#paths.get(prefix)?.values() ?? [])]);
    const prev = this.#selected.get(prefix);
    if (prev && prev.best === best && sameHops(prev.ecmp, ecmp)) return;
    if (!prev && !best) return;
    const change = { prefix, best, ecmp };
    if (best) this.#selected.set(prefix, change);
    else this.#selected.delete(prefix);
    for (const l of this.#listeners) l(change);
  }
}

function sameHops(a: readonly Route[], b: readonly Route[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}
