import { createServer } from 'node:http';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KubeClient } from '../kube/client.ts';
import { loadKubeTarget } from '../kube/kubeconfig.ts';
import { parseCidr } from '../dev/lab/index.ts';
import { DataPlane } from '../gatewayapi/dataplane/index.ts';
import { GatewayAPIController, CONTROLLER_NAME } from '../gatewayapi/controller/controller.ts';
import { UsageError } from './errors.ts';
import { parseHostPort } from './host-port.ts';

/**
 * `kubegate gateway-api`: the Gateway API controller and its data plane in one process. Gateways of
 * GatewayClasses whose controllerName is `kubegate.io/gateway-controller` are served on addresses
 * from `--address-pool`, which must be routed to this host (one local route for the whole pool
 * lets it bind any of them).
 */
export async function gatewayApi(v: Record<string, unknown>): Promise<number> {
  const kubeconfig = typeof v.kubeconfig === 'string' ? v.kubeconfig : undefined;
  const pool = typeof v['address-pool'] === 'string' ? v['address-pool'] : '';
  try {
    parseCidr(pool);
  } catch (err) {
    throw new UsageError(
      `gateway-api: --address-pool must be an IPv4 CIDR such as 10.250.2.0/24 (${(err as Error).message})`,
    );
  }
  const level = typeof v['log-level'] === 'string' ? v['log-level'] : 'info';
  if (!LEVELS.includes(level))
    throw new UsageError(`gateway-api: --log-level must be one of ${LEVELS.join(', ')}, got ${level}`);
  const target = await loadKubeTarget(kubeconfig);
  if (typeof v['api-socket'] === 'string') target.socketPath = v['api-socket'];
  const log = pino({ base: { component: 'gateway-api' }, level });
  const client = new KubeClient(target);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kubegate_gatewayapi_process_' });
  const plane = new DataPlane({ log, registry });
  const controller = new GatewayAPIController({
    client,
    sink: plane,
    log,
    addressPool: pool,
    registry,
    controllerName: typeof v['controller-name'] === 'string' ? v['controller-name'] : CONTROLLER_NAME,
  });
  const admin =
    typeof v['admin-address'] === 'string'
      ? await serveAdmin(v['admin-address'], registry, controller)
      : null;
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await controller.start();
  log.info({ addressPool: pool, controllerName: CONTROLLER_NAME }, 'gateway-api controller ready');
  await stopped;
  log.info('stopping');
  await controller.stop();
  await plane.close();
  admin?.close();
  client.close();
  return 0;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `/metrics` and `/readyz` on HOST:PORT. */
async function serveAdmin(
  address: string,
  registry: Registry,
  controller: GatewayAPIController,
): Promise<{ close(): void }> {
  const { host, port } = parseHostPort('gateway-api', 'admin-address', address);
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void registry.metrics().then((body) => {
        res.setHeader('content-type', registry.contentType);
        res.end(body);
      });
    } else if (req.url === '/readyz') {
      res.statusCode = controller.syncs > 0 ? 200 : 503;
      res.end(controller.syncs > 0 ? 'ok\n' : 'not synced\n');
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return { close: () => server.close() };
}
