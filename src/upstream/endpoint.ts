import { SessionPool, type UpstreamTLS } from './session-pool.ts';

const MAX_SERVED = 4096;

/** Why an endpoint is not taking traffic. */
export type EjectionCause = 'health-check' | 'connect-error' | 'starting';

/** One kube-apiserver replica: where it is, whether it is healthy, and how busy it is. */
export class Endpoint {
  readonly name: string;
  readonly url: URL;
  readonly pool: SessionPool;
  healthy = false;
  ejectedFor: EjectionCause | null = 'starting';
  /** Short requests in flight. */
  inflight = 0;
  /** Long-running requests (watches, logs -f, exec…) open. */
  longRunning = 0;
  /** Requests sent since start, for metrics and tests. */
  requests = 0;
  /** One function per relayed watch open on it, ending that watch cleanly (see RewatchPacer). */
  readonly watches = new Set<() => void>();
  /** Resources it has answered with a 2xx, by API group (see `serves`). */
  readonly #served = new Map<string, Set<string>>();
  #servedCount = 0;

  constructor(name: string, url: string, tls: UpstreamTLS, opts: { pingIntervalMs: number }) {
    this.name = name;
    this.url = new URL(url);
    this.pool = new SessionPool(this.url, tls, { pingIntervalMs: opts.pingIntervalMs });
  }

  /** Takes the endpoint out of rotation until the health check brings it back. */
  eject(cause: EjectionCause): void {
    this.healthy = false;
    this.ejectedFor = cause;
  }

  admit(): void {
    this.healthy = true;
    this.ejectedFor = null;
  }

  /**
   * Notes that it answered a request for `resource` of `group` with a 2xx. Right after a CRD is
   * created each apiserver starts serving it on its own (its handler, then its watch cache), so a
   * replica that has served a resource is where a request another replica could not serve yet is
   * retried (src/proxy/forward.ts). Bounded: past MAX_SERVED resources it starts over.
   */
  noteServed(group: string, resource: string): void {
    let set = this.#served.get(group);
    if (set?.has(resource) === true) return;
    if (this.#servedCount >= MAX_SERVED) {
      this.#served.clear();
      this.#servedCount = 0;
      set = undefined;
    }
    if (set === undefined) this.#served.set(group, (set = new Set()));
    set.add(resource);
    this.#servedCount++;
  }

  /** Whether it has answered a request for `resource` of `group` with a 2xx (see `noteServed`). */
  serves(group: string, resource: string): boolean {
    return this.#served.get(group)?.has(resource) === true;
  }

  close(): void {
    this.pool.close();
  }
}
