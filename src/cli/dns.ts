import { createServer } from 'node:http';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ClusterDns } from '../dns/index.ts';
import { KubeClient } from '../kube/client.ts';
import { loadKubeTarget } from '../kube/kubeconfig.ts';
import { UsageError } from './errors.ts';
import { parseHostPort } from './host-port.ts';

/**
 * `kubegate dns`: the cluster's DNS zone (`<service>.<namespace>.svc.<domain>`, SRV, PTR, pod
 * names) from Services and EndpointSlices, served over UDP and TCP on one address; authoritative
 * only, names outside the zone are refused.
 */
export async function dns(v: Record<string, unknown>): Promise<number> {
  const log = pino({
    base: { component: 'dns' },
    level: typeof v['log-level'] === 'string' ? v['log-level'] : 'info',
  });
  const listen = parseHostPort('dns', 'listen', typeof v.listen === 'string' ? v.listen : '127.0.0.1:53');
  const domain = typeof v['cluster-domain'] === 'string' ? v['cluster-domain'] : 'cluster.local';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(domain))
    throw new UsageError(`dns: --cluster-domain must be a DNS name like cluster.local, got ${domain}`);
  const target = await loadKubeTarget(typeof v.kubeconfig === 'string' ? v.kubeconfig : undefined);
  if (typeof v['api-socket'] === 'string') target.socketPath = v['api-socket'];
  const client = new KubeClient(target);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kubegate_dns_process_' });
  const server = new ClusterDns({ client, log, host: listen.host, port: listen.port, domain, registry });
  const metrics =
    typeof v['metrics-address'] === 'string'
      ? parseHostPort('dns', 'metrics-address', v['metrics-address'])
      : null;
  const http = metrics
    ? createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end('not found\n');
        void registry
          .metrics()
          .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
      }).listen(metrics.port, metrics.host)
    : null;
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const at = await server.start();
  log.info({ address: `${at.host}:${at.port}`, domain }, 'cluster DNS ready');
  await stopped;
  await server.stop();
  http?.close();
  client.close();
  return 0;
}
