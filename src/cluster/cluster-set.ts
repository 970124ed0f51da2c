import type { Logger } from 'pino';
import type { ClusterConfig } from '../config/model.ts';
import { RewatchPacer } from '../upstream/rewatch-pacer.ts';
import { ClusterRuntime } from './runtime.ts';
import type { SharedLimits } from './shared-limits.ts';

/** How long a reload waits for the first probe of new endpoints before swapping anyway. */
const START_WAIT_MS = 3000;

/**
 * The live clusters, by name. `apply` builds the next generation of every cluster from its previous
 * one, starts what is new, and swaps the whole map at once: a request reads the map once, so it
 * sees one consistent generation from start to end.
 */
export class ClusterSet {
  #current: ReadonlyMap<string, ClusterRuntime> = new Map();
  #queue: Promise<void> = Promise.resolve();
  readonly #log: Logger;
  /** Ends the watches of endpoints a reload retired a few at a time (see `rewatch` in the configuration). */
  readonly rewatch = new RewatchPacer();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** The live runtime of a cluster. */
  get(name: string): ClusterRuntime | undefined {
    return this.#current.get(name);
  }

  get names(): string[] {
    return [...this.#current.keys()];
  }

  /**
   * Replaces the set of clusters; applies are serialized in call order. `shared`: the limiters'
   * shared memory for these configurations when worker threads serve together.
   */
  apply(configs: readonly ClusterConfig[], shared?: SharedLimits): Promise<void> {
    const run = this.#queue.then(() => this.#apply(configs, shared));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(configs: readonly ClusterConfig[], shared: SharedLimits | undefined): Promise<void> {
    const prev = this.#current;
    const next = new Map<string, ClusterRuntime>();
    const lookup = (name: string) => this.#current.get(name);
    for (const c of configs) {
      const old = prev.get(c.name);
      next.set(c.name, old && old.config === c ? old : new ClusterRuntime(c, this.#log, lookup, old, shared));
    }
    const fresh = [...next.values()].filter((r) => prev.get(r.name) !== r);
    await Promise.race([
      Promise.all(fresh.map((r) => r.start())),
      new Promise((r) => setTimeout(r, START_WAIT_MS).unref()),
    ]);
    this.#current = next;
    for (const [name, old] of prev) {
      const now = next.get(name);
      if (now !== old) old.retire(now ?? null, this.rewatch);
    }
  }

  /** Stops every cluster (health checks, upstream sessions). */
  close(): void {
    for (const r of this.#current.values()) r.retire(null);
    this.#current = new Map();
    this.rewatch.close();
  }
}
