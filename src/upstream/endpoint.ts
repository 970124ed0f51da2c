import { SessionPool, type UpstreamTLS } from './session-pool.ts';

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

  close(): void {
    this.pool.close();
  }
}
