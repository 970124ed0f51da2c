import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KubeClient } from '../kube/client.ts';
import { loadKubeTarget } from '../kube/kubeconfig.ts';
import { NodeAgent } from '../node/agent.ts';
import {
  cleanupBgpRoutes,
  parseAsn,
  parsePeerRouters,
  RoutingConfigError,
  RoutingController,
  routingOptions,
  type RoutingNode,
  type RoutingOptions,
} from '../node/bgp/controller/index.ts';
import { cleanupTables } from '../node/nft/apply.ts';
import { checkPrerequisites } from '../node/prerequisites.ts';
import { UsageError } from './errors.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * `kubegate node`: the Service proxy and NetworkPolicy of one node, programmed as nftables tables
 * (`kubegate-*`) in the network namespace it runs in. `--cleanup` removes those tables and exits.
 */
export async function node(v: Record<string, unknown>): Promise<number> {
  const level = typeof v['log-level'] === 'string' ? v['log-level'] : 'info';
  if (!LEVELS.includes(level))
    throw new UsageError(`node: --log-level must be one of ${LEVELS.join(', ')}, got ${level}`);
  const log = pino({ base: { component: 'node' }, level });
  if (v.cleanup === true) {
    const removed = await cleanupTables();
    log.info({ tables: removed }, `removed ${removed.length} kubegate-* tables`);
    await cleanupBgpRoutes();
    return 0;
  }
  const nodeName = typeof v['node-name'] === 'string' ? v['node-name'] : '';
  if (nodeName === '')
    throw new UsageError('node: --node-name is required (the Node object this agent programs for)');
  const health =
    typeof v['health-address'] === 'string' ? parseAddress('health-address', v['health-address']) : null;
  const metricsAt =
    typeof v['metrics-address'] === 'string' ? parseAddress('metrics-address', v['metrics-address']) : null;
  const fix = v['fix-prerequisites'] === true;
  const bgpOptions = v.bgp === true ? bgpFlags(v) : null;

  const prereqs = await checkPrerequisites(fix);
  for (const p of prereqs)
    log[p.ok ? 'info' : 'warn'](
      { kind: 'prerequisite', name: p.name, ok: p.ok, fixed: p.fixed ?? false },
      p.detail,
    );

  const target = await loadKubeTarget(typeof v.kubeconfig === 'string' ? v.kubeconfig : undefined);
  if (typeof v['api-socket'] === 'string') target.socketPath = v['api-socket'];
  const client = new KubeClient(target);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kubegate_node_process_' });
  const routing =
    bgpOptions === null
      ? null
      : new RoutingController({
          nodeName,
          options: bgpOptions,
          log: (e) => log.info({ kind: 'bgp', ...e }, String(e.type)),
        });
  const agent = new NodeAgent({
    client,
    nodeName,
    log,
    registry,
    fixHairpin: fix,
    ...(routing ? { onNodes: (nodes) => void routing.update(nodes as unknown as RoutingNode[]) } : {}),
  });
  for (const p of prereqs) agent.metrics.prerequisite(p.name, p.ok);

  const servers: Server[] = [];
  if (health !== null)
    servers.push(
      await listen(health, (url) => {
        if (url !== '/healthz' && url !== '/readyz') return null;
        const ok = agent.syncs > 0 && agent.healthy;
        return { status: ok ? 200 : 503, body: ok ? 'ok\n' : 'not synced\n', type: 'text/plain' };
      }),
    );
  if (metricsAt !== null)
    servers.push(
      await listen(metricsAt, async (url) =>
        url === '/metrics'
          ? { status: 200, body: await registry.metrics(), type: registry.contentType }
          : null,
      ),
    );
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await agent.start();
  log.info({ nodeName, tables: agent.tables.map((t) => `${t.family} ${t.name}`) }, 'node agent ready');
  await stopped;
  log.info('stopping (tables stay in place and keep serving; --cleanup removes them)');
  await agent.stop();
  // Graceful: no NOTIFICATION, learned routes stay in the kernel and peers keep ours while we restart.
  await routing?.stop({ graceful: true });
  for (const s of servers) s.close();
  client.close();
  return 0;
}

/** kube-router's BGP flags → the routing controller's options. */
function bgpFlags(v: Record<string, unknown>): RoutingOptions {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const int = (k: string, min: number, max: number): number | undefined => {
    const t = str(k);
    if (t === undefined) return undefined;
    const n = Number(t.replace(/s$/, ''));
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`node: --${k} must be an integer ${min}..${max}, got ${t}`);
    return n;
  };
  try {
    const asn = str('cluster-asn');
    const port = int('bgp-port', 1, 65535);
    const gr = int('bgp-graceful-restart-time', 0, 4095);
    return routingOptions({
      ...(asn !== undefined ? { clusterAsn: parseAsn(asn, '--cluster-asn') } : {}),
      peerRouters: parsePeerRouters(
        str('peer-router-ips'),
        str('peer-router-asns'),
        str('peer-router-passwords'),
      ),
      serviceCIDRs: (str('service-cluster-ip-range') ?? '10.96.0.0/12').split(',').map((c) => c.trim()),
      ...(port !== undefined ? { port } : {}),
      ...(gr !== undefined ? { gracefulRestartSeconds: gr } : {}),
    });
  } catch (err) {
    if (err instanceof RoutingConfigError) throw new UsageError(`node: ${err.message}`);
    throw err;
  }
}

function parseAddress(flag: string, address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`node: --${flag} must be HOST:PORT, got ${address}`);
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

type Answer = { status: number; body: string; type: string } | null;

async function listen(
  at: { host: string; port: number },
  answer: (url: string) => Answer | Promise<Answer>,
): Promise<Server> {
  const server = createServer((req, res) => {
    void Promise.resolve(answer(req.url ?? '/')).then((a) => {
      if (a === null) {
        res.statusCode = 404;
        res.end('not found\n');
        return;
      }
      res.statusCode = a.status;
      res.setHeader('content-type', a.type);
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, resolve);
  });
  return server;
}
