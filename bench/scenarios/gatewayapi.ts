import { join } from 'node:path';
import { changesUnderLoad, type ChangesResult } from '../lib/gatewayapi-changes.ts';
import { GatewayAPILab, STEADY_HOST } from '../lib/gatewayapi-lab.ts';
import { GatewayHostHAProxy, gatewayHAProxyConfig } from '../lib/gatewayapi-load.ts';
import { machineLoad } from '../lib/gatewayapi-noise.ts';
import { Prober } from '../lib/gatewayapi-probes.ts';
import { propagationAtSize, type PropagationAtSize } from '../lib/gatewayapi-propagation.ts';
import { gatewayAPIMarkdown } from '../lib/gatewayapi-report.ts';
import { measureThroughput, ratio, type ThroughputResult } from '../lib/gatewayapi-throughput.ts';
import type { Scenario } from '../lib/scenario.ts';

/** HAProxy's address in the Gateway host (any pool address is local there); Gateways get the first ones. */
const HAPROXY_ADDRESS = '10.250.2.250';
const HAPROXY_THREADS = 1;
const CLIENTS = 32;
const SIZES = [1000, 5000] as const;
const CHANGES = 100;
const STEADY_RATE = 500;
const STEADY_CLIENTS = 25;
const STEADY_SECONDS = 20;

/** Published route-propagation times other Gateway API implementations are compared with (ms). */
export const PROPAGATION_ANCHORS = {
  agentgateway: '10–30',
  Istio: '120–300',
  'Envoy Gateway': '~600',
  'NGINX Gateway Fabric': '~800',
} as const;

/**
 * Gateway API (issue 18) in `kubegate dev --gateway-api`: HTTP/1.1 throughput through a Gateway vs
 * HAProxy in the same role, the time from creating an HTTPRoute to its first 200 at 1,000 and 5,000
 * routes, and failed requests of a steady load while 100 other routes change.
 */
export const gatewayapi: Scenario = {
  name: 'gatewayapi',
  describe:
    'kubegate dev --gateway-api (1 apiserver, 2 nodes, 2 echo pods): HTTP/1.1 through a Gateway vs HAProxy; new HTTPRoute → first 200 at 1,000 and 5,000 routes; failures of a steady load while 100 routes change',
  async run(ctx) {
    const noiseBefore = await machineLoad();
    const lab = new GatewayAPILab(join(ctx.dir, 'dev'));
    const haproxy = new GatewayHostHAProxy();
    let prober: Prober | null = null;
    let throughput: ThroughputResult;
    const propagation: PropagationAtSize[] = [];
    const changes: ChangesResult[] = [];
    try {
      const t0 = performance.now();
      await lab.start();
      console.log(
        `bench gatewayapi: cluster and echo pods up in ${((performance.now() - t0) / 1000).toFixed(0)} s; Gateway at ${lab.gatewayAddress}, pods ${lab.podIPs.join(', ')}`,
      );
      prober = new Prober(lab.outside);
      await prober.probe(lab.gatewayAddress, STEADY_HOST, { intervalMs: 100 }).served;

      await haproxy.start(
        lab.gatewayHost,
        ctx.dir,
        gatewayHAProxyConfig(
          `${HAPROXY_ADDRESS}:80`,
          lab.podIPs.map((ip) => `${ip}:3000`),
          HAPROXY_THREADS,
        ),
      );
      await prober.probe(HAPROXY_ADDRESS, STEADY_HOST, { intervalMs: 100, timeoutMs: 10_000 }).served;
      throughput = await measureThroughput(
        ctx,
        lab.outside,
        STEADY_HOST,
        [
          { name: 'kubegate', url: `http://${lab.gatewayAddress}/`, pid: lab.gatewayAPIPid },
          { name: 'haproxy', url: `http://${HAPROXY_ADDRESS}/`, pid: haproxy.pid },
        ],
        Math.max(3, ctx.reps),
        CLIENTS,
      );
      await haproxy.stop();

      let have = 0;
      let probes = 0;
      const reps = Math.max(5, ctx.reps);
      for (const size of SIZES) {
        propagation.push(await propagationAtSize(lab, prober, size, have, probes, reps));
        have = size;
        probes += reps;
        changes.push(
          await changesUnderLoad(lab, prober, ctx.dir, {
            firstVersion: size * 1000,
            reps: Math.max(3, ctx.reps),
            changes: CHANGES,
            rate: STEADY_RATE,
            clients: STEADY_CLIENTS,
            durationSeconds: STEADY_SECONDS,
            totalRoutes: have + probes,
          }),
        );
      }
    } finally {
      await prober?.stop();
      await haproxy.stop();
      await lab.stop();
    }
    const noiseAfter = await machineLoad();
    const k = throughput.byTarget.kubegate!.median;
    const h = throughput.byTarget.haproxy!.median;
    const data = {
      setup: {
        cluster: 'kubegate dev --apiservers 1 --nodes 2 --gateway-api',
        backends: '2 echo-basic pods (examples/gateway-api/echo.yaml), port 3000',
        haproxy: `${HAPROXY_ADDRESS}:80 in the Gateway host namespace, nbthread ${HAPROXY_THREADS}, roundrobin, http-reuse always`,
        load: `h2load --h1 -m 1 from the underlay namespace, ${CLIENTS} connections, ${ctx.durationSeconds} s + ${ctx.warmupSeconds} s warm-up per run`,
        reps: Math.max(3, ctx.reps),
      },
      machineLoad: { before: noiseBefore, after: noiseAfter },
      throughput: {
        ...throughput,
        kubegateOverHAProxy: {
          reqPerSec: ratio(k.reqPerSec, h.reqPerSec),
          p50: ratio(k.p50Micros, h.p50Micros),
          p99: ratio(k.p99Micros, h.p99Micros),
          cpuMicrosPerRequest: ratio(k.cpuMicrosPerRequest, h.cpuMicrosPerRequest),
        },
      },
      propagation: { targetMs: 50, anchorsMs: PROPAGATION_ANCHORS, sizes: propagation },
      routeChanges: changes,
    };
    return { name: 'gatewayapi', data, markdown: gatewayAPIMarkdown(data) };
  },
};
