import { Counter, Histogram, type Registry } from 'prom-client';

const CODE_CLASS = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The data plane's request metrics; nothing is recorded without a registry. */
export class DataPlaneMetrics {
  readonly #requests: Counter<'gateway' | 'code_class'> | null;
  readonly #duration: Histogram<'gateway'> | null;

  constructor(registry: Registry | undefined) {
    if (registry === undefined) {
      this.#requests = null;
      this.#duration = null;
      return;
    }
    this.#requests = new Counter({
      name: 'kubegate_gatewayapi_requests_total',
      help: 'Requests answered by the Gateway API data plane, by Gateway (namespace/name) and status class.',
      labelNames: ['gateway', 'code_class'],
      registers: [registry],
    });
    this.#duration = new Histogram({
      name: 'kubegate_gatewayapi_request_duration_seconds',
      help: 'Time from a request arriving to its response ending, by Gateway.',
      labelNames: ['gateway'],
      buckets: BUCKETS,
      registers: [registry],
    });
  }

  /** One answered request; `startedAt` from `performance.now()`. */
  observe(gateway: string, status: number, startedAt: number): void {
    if (this.#requests === null) return;
    const cls = CODE_CLASS[Math.floor(status / 100)] ?? '0xx';
    this.#requests.labels(gateway, cls).inc();
    this.#duration!.labels(gateway).observe((performance.now() - startedAt) / 1000);
  }
}
