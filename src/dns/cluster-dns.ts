import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { KubeClient } from '../kube/client.ts';
import { Informer, type KubeObject } from '../kube/informer.ts';
import type { DnsEndpointSlice, DnsService } from './objects.ts';
import { DnsServer } from './server.ts';
import { ClusterZone } from './zone.ts';

export interface ClusterDnsOptions {
  client: KubeClient;
  log: Logger;
  host: string;
  port: number;
  domain?: string;
  registry?: Registry;
}

/**
 * Cluster DNS: Services and EndpointSlices watched, the zone rebuilt on every change (a burst of
 * events is one rebuild), served over UDP and TCP. Until both collections were listed once every
 * query gets SERVFAIL, so a resolver retries instead of caching a wrong NXDOMAIN.
 */
export class ClusterDns {
  readonly #opts: ClusterDnsOptions;
  readonly #server: DnsServer;
  #services: readonly DnsService[] | null = null;
  #slices: readonly DnsEndpointSlice[] | null = null;
  #zone: ClusterZone | null = null;
  readonly #informers: Informer<KubeObject>[] = [];
  readonly #queries?: Counter<'rcode' | 'transport'>;
  readonly #rebuilds?: Counter;

  constructor(opts: ClusterDnsOptions) {
    this.#opts = opts;
    if (opts.registry) {
      this.#queries = new Counter({
        name: 'kubegate_dns_queries_total',
        help: 'DNS queries answered, by response code and transport',
        labelNames: ['rcode', 'transport'],
        registers: [opts.registry],
      });
      this.#rebuilds = new Counter({
        name: 'kubegate_dns_zone_rebuilds_total',
        help: 'Times the cluster zone was rebuilt from Services and EndpointSlices',
        registers: [opts.registry],
      });
    }
    this.#server = new DnsServer({
      zone: () => this.#zone,
      host: opts.host,
      port: opts.port,
      onQuery: (rcode, transport) => this.#queries?.inc({ rcode, transport }),
    });
  }

  get zone(): ClusterZone | null {
    return this.#zone;
  }

  /** Listens, then resolves once both collections were listed and the zone is served. */
  async start(): Promise<{ host: string; port: number }> {
    const at = await this.#server.listen();
    const { client, log } = this.#opts;
    const services = new Informer<KubeObject>(
      client,
      '/api/v1/services',
      (items) => ((this.#services = items as unknown as DnsService[]), this.#rebuild()),
      log,
    );
    const slices = new Informer<KubeObject>(
      client,
      '/apis/discovery.k8s.io/v1/endpointslices',
      (items) => ((this.#slices = items as unknown as DnsEndpointSlice[]), this.#rebuild()),
      log,
    );
    this.#informers.push(services, slices);
    await Promise.all(this.#informers.map((i) => i.start()));
    return at;
  }

  #rebuild(): void {
    if (this.#services === null || this.#slices === null) return;
    this.#zone = new ClusterZone(this.#services, this.#slices, { domain: this.#opts.domain });
    this.#rebuilds?.inc();
  }

  async stop(): Promise<void> {
    for (const i of this.#informers) i.stop();
    await this.#server.close();
  }
}
