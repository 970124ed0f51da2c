import type { Balancer } from './balancers/index.ts';
import type { Endpoint } from './endpoint.ts';
import { HealthCheck, type HealthCheckOptions } from './health-check.ts';

/** The replicas of one cluster, their health, and the balancer that spreads requests over them. */
export class Upstream {
  readonly endpoints: readonly Endpoint[];
  readonly #balancer: Balancer;
  readonly #checks: HealthCheck[];
  #healthy: Endpoint[] = [];

  constructor(
    endpoints: readonly Endpoint[],
    balancer: Balancer,
    health: HealthCheckOptions,
    onChange?: (ep: Endpoint) => void,
  ) {
    this.endpoints = endpoints;
    this.#balancer = balancer;
    const changed = (ep: Endpoint) => {
      this.#refresh();
      onChange?.(ep);
    };
    this.#checks = endpoints.map((ep) => new HealthCheck(ep, health, changed));
  }

  /** Starts health checks; resolves after every endpoint has been probed once. */
  async start(): Promise<void> {
    await Promise.all(this.#checks.map((c) => c.start()));
    this.#refresh();
  }

  /** A healthy endpoint for a request, other than `exclude`; null when there is none. */
  pick(longRunning: boolean, exclude?: Endpoint): Endpoint | null {
    let list = this.#healthy;
    if (exclude && list.includes(exclude)) list = list.filter((e) => e !== exclude);
    if (list.length === 0) return null;
    return this.#balancer.pick(list, longRunning);
  }

  /** Passive ejection: the endpoint could not be reached; the health check will bring it back. */
  eject(ep: Endpoint): void {
    if (!ep.healthy) return;
    ep.eject('connect-error');
    this.#refresh();
  }

  #refresh(): void {
    this.#healthy = this.endpoints.filter((e) => e.healthy);
  }

  get healthyCount(): number {
    return this.#healthy.length;
  }

  close(): void {
    for (const c of this.#checks) c.stop();
    for (const e of this.endpoints) e.close();
  }
}
