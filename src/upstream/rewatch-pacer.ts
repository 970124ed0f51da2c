import type { Endpoint } from './endpoint.ts';

/** How fast the watches of retired upstream connections are ended (and so opened again). */
export interface RewatchOptions {
  /** Watches ended per second at most, while the window allows. */
  readonly maxPerSecond: number;
  /** Every watch of a retired endpoint is ended within this long of its retirement. */
  readonly windowMs: number;
}

export const DEFAULT_REWATCH: RewatchOptions = Object.freeze({ maxPerSecond: 100, windowMs: 60_000 });

const TICK_MS = 50;

interface Retiring {
  readonly endpoint: Endpoint;
  readonly deadline: number;
}

/**
 * Ends the watches of retired endpoints (a changed upstream CA or client certificate, a moved
 * endpoint) a few at a time. Their clients watch again at once, and through new sessions: ending
 * them all when the old sessions close made every client of the gateway re-watch within the same
 * few milliseconds, a thundering herd on the apiservers. Here no more than `maxPerSecond` end
 * within any second, unless the window would then be overrun (the rate is raised just enough to
 * end the last one at the deadline), in random order across the endpoints, on jittered ticks. A
 * retired endpoint takes no new streams meanwhile, and closes its sessions once its watches are
 * gone (streams still open then, logs -f and the like, finish on their own, as before).
 */
export class RewatchPacer {
  #opts: RewatchOptions = DEFAULT_REWATCH;
  #retiring: Retiring[] = [];
  /** When the watches of the last second were ended (ms, oldest first). */
  #recent: number[] = [];
  #timer: NodeJS.Timeout | null = null;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Options for the retirements to come and those under way. */
  configure(opts: RewatchOptions): void {
    this.#opts = opts;
  }

  /** Endpoints replaced by a reload: no new streams on them; their watches end paced, then they close. */
  retire(endpoints: readonly Endpoint[]): void {
    const deadline = this.#now() + this.#opts.windowMs;
    for (const endpoint of endpoints) {
      endpoint.pool.refuseNewStreams();
      this.#retiring.push({ endpoint, deadline });
    }
    this.#tick();
  }

  /** Watches still waiting to be ended, for tests and metrics. */
  get pending(): number {
    let n = 0;
    for (const r of this.#retiring) n += r.endpoint.watches.size;
    return n;
  }

  /** Ends everything at once (the gateway is stopping). */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const r of this.#retiring.splice(0)) {
      r.endpoint.watches.clear();
      r.endpoint.close();
    }
  }

  readonly #tick = (): void => {
    this.#timer = null;
    const now = this.#now();
    // Past its deadline, or with nothing left to end: what is left is ended, and the endpoint
    // closes (GOAWAY to the apiserver, whose GOAWAY back ends a watch whose answer had not come
    // yet, see ProxiedRequest).
    this.#retiring = this.#retiring.filter((r) => {
      const { watches } = r.endpoint;
      if (watches.size > 0 && r.deadline > now) return true;
      for (const end of [...watches]) {
        watches.delete(end);
        end();
      }
      r.endpoint.close();
      return false;
    });
    if (this.#retiring.length === 0) return;
    while (this.#recent.length > 0 && now - this.#recent[0] >= 1000) this.#recent.shift();
    const left = this.pending;
    const msLeft = Math.max(TICK_MS, this.#retiring[0].deadline - now);
    const rate = Math.max(this.#opts.maxPerSecond, (left * 1000) / msLeft);
    let n = Math.min(Math.ceil((rate * TICK_MS) / 1000), Math.floor(rate) - this.#recent.length, left);
    for (; n > 0; n--) {
      const withWatches = this.#retiring.filter((r) => r.endpoint.watches.size > 0);
      const ep = withWatches[Math.floor(Math.random() * withWatches.length)].endpoint;
      const end = ep.watches.values().next().value!;
      ep.watches.delete(end);
      end();
      this.#recent.push(now);
    }
    this.#timer = setTimeout(this.#tick, TICK_MS * (0.8 + Math.random() * 0.4));
    this.#timer.unref();
  };
}
