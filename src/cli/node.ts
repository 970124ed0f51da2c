import { createServer, type Server } from 'node:http';
import { KubeClient } from '../kube/client.ts';
import { loadKubeTarget } from '../kube/kubeconfig.ts';
import type * as BgpController from '../node/bgp/controller/index.ts';
import type { RoutingNode, RoutingOptions } from '../node/bgp/controller/index.ts';
import type { EndpointSlice, Service } from '../node/service/index.ts';
import { sendFirstLists } from '../node/watched.ts';
import { UsageError } from './errors.ts';
import { parseHostPort } from './host-port.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * `kubegate node`: the Service proxy and NetworkPolicy of one node, programmed as nftables tables
 * (`kubegate-*`) in the network namespace it runs in. `--cleanup` removes those tables and exits.
 */
export async function node(v: Record<string, unknown>): Promise<number> {
  const loadedMs = Math.round(performance.now());
  const level = typeof v['log-level'] === 'string' ? v['log-level'] : 'info';
  if (!LEVELS.includes(level))
    throw new UsageError(`node: --log-level must be one of ${LEVELS.join(', ')}, got ${level}`);
  if (v.cleanup === true) {
    const [{ pino }, { cleanupTables }] = await Promise.all([import('pino'), import('../node/nft/apply.ts')]);
    const log = pino({ base: { component: 'node' }, level });
    const removed = await cleanupTables();
    log.info({ tables: removed }, `removed ${removed.length} kubegate-* tables`);
    await (await bgpController()).cleanupBgpRoutes();
    return 0;
  }
  const nodeName = typeof v['node-name'] === 'string' ? v['node-name'] : '';
  if (nodeName === '')
    throw new UsageError('node: --node-name is required (the Node object this agent programs for)');
  const health =
    typeof v['health-address'] === 'string'
      ? parseHostPort('node', 'health-address', v['health-address'])
      : null;
  const metricsAt =
    typeof v['metrics-address'] === 'string'
      ? parseHostPort('node', 'metrics-address', v['metrics-address'])
      : null;
  const fix = v['fix-prerequisites'] === true;
  // The BGP speaker (44 modules) is loaded only with --bgp.
  const bgp = v.bgp === true ? await bgpController() : null;
  const bgpOptions = bgp === null ? null : bgpFlags(bgp, v);

  const target = await loadKubeTarget(typeof v.kubeconfig === 'string' ? v.kubeconfig : undefined);
  if (typeof v['api-socket'] === 'string') target.socketPath = v['api-socket'];
  const client = new KubeClient(target);
  // The lists first, then the modules that translate and apply them (loaded while they are answered).
  const firstLists = sendFirstLists(client);
  const [
    { pino },
    { Registry, collectDefaultMetrics },
    { NodeAgent },
    { ProblemReporter },
    { checkPrerequisites },
  ] = await Promise.all([
    import('pino'),
    import('prom-client'),
    import('../node/agent.ts'),
    import('../node/events.ts'),
    import('../node/prerequisites.ts'),
  ]).catch((err: unknown) => {
    client.close();
    throw err;
  });
  const modulesMs = Math.round(performance.now());
  const log = pino({ base: { component: 'node' }, level });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kubegate_node_process_' });
  // Bad kube-router annotations on Nodes and Services: Warning Events on them.
  const routingProblems = new ProblemReporter(client, log, nodeName);
  const routing =
    bgp === null || bgpOptions === null
      ? null
      : new bgp.RoutingController({
          nodeName,
          options: bgpOptions,
          log: (e) => log.info({ kind: 'bgp', ...e }, String(e.type)),
          onProblems: (p) => routingProblems.report(p),
        });
  const agent = new NodeAgent({
    client,
    nodeName,
    log,
    registry,
    fixHairpin: fix,
    firstLists,
    ...(routing
      ? {
          onNodes: (nodes) => void routing.update(nodes as unknown as RoutingNode[]),
          onServices: (services, slices) =>
            void routing.updateServices(
              services as unknown as Service[],
              slices as unknown as EndpointSlice[],
            ),
        }
      : {}),
  });

  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
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
  // The lists go out before the prerequisite checks, which then run while they are answered.
  const starting = agent.start();
  starting.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
  // Beside the first lists: the checks spawn `bridge` and `nft`, and no table depends on them (the
  // sysctls they fix matter to traffic, and they are fixed long before the first sync ends).
  const checking = checkPrerequisites(fix).then((prereqs) => {
    for (const p of prereqs)
      log[p.ok ? 'info' : 'warn'](
        { kind: 'prerequisite', name: p.name, ok: p.ok, fixed: p.fixed ?? false },
        p.detail,
      );
    return prereqs;
  });
  const [prereqs] = await Promise.all([checking, starting]);
  for (const p of prereqs) agent.metrics.prerequisite(p.name, p.ok);
  log.info(
    {
      nodeName,
      tables: agent.tables.map((t) => `${t.family} ${t.name}`),
      startup: { loadedMs, modulesMs, ...agent.startup, readyMs: Math.round(performance.now()) },
    },
    'node agent ready',
  );
  await stopped;
  log.info('stopping (tables stay in place and keep serving; --cleanup removes them)');
  await agent.stop();
  // Graceful: no NOTIFICATION, learned routes stay in the kernel and peers keep ours while we restart.
  await routing?.stop({ graceful: true });
  for (const s of servers) s.close();
  client.close();
  return 0;
}

function bgpController(): Promise<typeof BgpController> {
  return import('../node/bgp/controller/index.ts');
}

/** kube-router's BGP flags → the routing controller's options. */
function bgpFlags(bgp: typeof BgpController, v: Record<string, unknown>): RoutingOptions {
  const { parseAsn, parsePeerRouters, RoutingConfigError, routingOptions } = bgp;
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
        undefined,
        str('peer-router-ports'),
      ),
      serviceCIDRs: (str('service-cluster-ip-range') ?? '10.96.0.0/12').split(',').map((c) => c.trim()),
      ...(port !== undefined ? { port } : {}),
      ...(gr !== undefined ? { gracefulRestartSeconds: gr } : {}),
      advertiseClusterIP: v['advertise-cluster-ip'] === true,
      advertiseExternalIP: v['advertise-external-ip'] === true,
      advertiseLoadBalancerIP: v['advertise-loadbalancer-ip'] === true,
      advertiseServiceClusterIPRanges: (str('advertise-service-cluster-ip-range') ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
    });
  } catch (err) {
    if (err instanceof RoutingConfigError) throw new UsageError(`node: ${err.message}`);
    throw err;
  }
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
