import { Counter, Histogram, type Registry } from 'prom-client';

/** The controller's metrics; nothing is recorded without a registry. */
export class ControllerMetrics {
  readonly #translations: Histogram | null;
  readonly #eventToServing: Histogram | null;
  readonly #statusWrites: Counter<'result'> | null;

  constructor(registry: Registry | undefined) {
    if (registry === undefined) {
      this.#translations = null;
      this.#eventToServing = null;
      this.#statusWrites = null;
      return;
    }
    this.#translations = new Histogram({
      name: 'kubegate_gatewayapi_sync_duration_seconds',
      help: 'One sync: translating the objects and swapping the IR into the data plane (status writes not included).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.#eventToServing = new Histogram({
      name: 'kubegate_gatewayapi_event_to_serving_seconds',
      help: 'From the first watch event of a change to the data plane serving it: coalescing, waiting for a running sync, translating, swapping.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.#statusWrites = new Counter({
      name: 'kubegate_gatewayapi_status_writes_total',
      help: 'Status patches sent, by result (written, conflict: the object changed or went meanwhile, error).',
      labelNames: ['result'],
      registers: [registry],
    });
  }

  sync(ms: number): void {
    this.#translations?.observe(ms / 1000);
  }

  eventToServing(ms: number): void {
    this.#eventToServing?.observe(ms / 1000);
  }

  statusWrite(result: 'written' | 'conflict' | 'error'): void {
    this.#statusWrites?.labels(result).inc();
  }
}
