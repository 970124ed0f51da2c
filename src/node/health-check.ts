import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { HealthCheck } from './service/index.ts';

/**
 * The `healthCheckNodePort` of every LoadBalancer Service with externalTrafficPolicy Local, served
 * as kube-proxy serves it: 200 when this node has a local endpoint, 503 when not, with a JSON body
 * naming the Service and the count, so the load balancer sends traffic only to nodes with endpoints.
 */
export class HealthCheckServers {
  readonly #log: Logger;
  readonly #servers = new Map<number, { server: Server; check: HealthCheck }>();

  constructor(log: Logger) {
    this.#log = log;
  }

  update(checks: readonly HealthCheck[]): void {
    const wanted = new Map(checks.map((c) => [c.port, c]));
    for (const [port, s] of this.#servers)
      if (!wanted.has(port)) {
        s.server.close();
        this.#servers.delete(port);
      }
    for (const [port, check] of wanted) {
      const had = this.#servers.get(port);
      if (had !== undefined) {
        had.check = check;
        continue;
      }
      const entry = { server: createServer((_req, res) => this.#answer(entry.check, res)), check };
      entry.server.on('error', (err) =>
        this.#log.warn(
          {
            kind: 'healthCheckNodePort',
            port,
            service: `${check.namespace}/${check.name}`,
            err: err.message,
          },
          'cannot serve healthCheckNodePort',
        ),
      );
      entry.server.listen(port);
      this.#servers.set(port, entry);
    }
  }

  #answer(c: HealthCheck, res: ServerResponse): void {
    res.statusCode = c.localEndpoints > 0 ? 200 : 503;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Load-Balancing-Endpoint-Weight', String(c.localEndpoints));
    res.end(
      JSON.stringify({
        service: { namespace: c.namespace, name: c.name },
        localEndpoints: c.localEndpoints,
        serviceProxyHealthy: true,
      }),
    );
  }

  close(): void {
    for (const s of this.#servers.values()) s.server.close();
    this.#servers.clear();
  }
}
