import { join } from 'node:path';
import { changesUnderLoad, type ChangesResult } from '../lib/gatewayapi-changes.ts';
import { GatewayAPILab, STEADY_HOST } from '../lib/gatewayapi-lab.ts';
import { GatewayHostHAProxy, gatewayHAProxyConfig } from '../lib/gatewayapi-load.ts';
import { machineLoad } from '../lib/gatewayapi-noise.ts';
import { policyCost, type PolicyCostResult } from '../lib/gatewayapi-policy-cost.ts';
import { Prober } from '../lib/gatewayapi-probes.ts';
import { propagationAtSize, type PropagationAtSize } from '../lib/gatewayapi-propagation.ts';
import { gatewayAPIMarkdown } from '../lib/gatewayapi-report.ts';
import { measureThroughput, ratio, type ThroughputResult } from '../lib/gatewayapi-throughput.ts';
import type { GatewayAPIData } from '../lib/gatewayapi-report.ts';
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
/** The fixed rate and connections of the per-policy CPU measure. */
const POLICY_RATE = 500;
const POLICY_CLIENTS = 10;

const PARTS = ['throughput', 'propagation', 'policies'] as const;
type Part = (typeof PARTS)[number];

/** `BENCH_GATEWAYAPI_PARTS=policies` (comma-separated) runs only those parts; default: all. */
function selectedParts(): ReadonlySet<Part> {
  const env = process.env.BENCH_GATEWAYAPI_PARTS;
  if (env === undefined || env.trim() === '') return new Set(PARTS);
  const asked = env.split(',').map((p) => p.trim());
  const unknown = asked.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_GATEWAYAPI_PARTS: unknown part ${unknown.join(', ')} (known: ${PARTS.join(', ')})`,
    );
  return new Set(asked as Part[]);
}

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
    'kubegate dev --gateway-api (1 apiserver, 2 nodes, 2 echo pods): HTTP/1.1 through a Gateway vs HAProxy; new HTTPRoute → first 200 at 1,000 and 5,000 routes; failures of a steady load while 100 routes change; data-plane CPU per request by TrafficPolicy (BENCH_GATEWAYAPI_PARTS selects parts)',
  async run(ctx) {
    const parts = selectedParts();
    const noiseBefore = await machineLoad();
    const lab = new GatewayAPILab(join(ctx.dir, 'dev'));
    const haproxy = new GatewayHostHAProxy();
    let prober: Prober | null = null;
    let throughput: ThroughputResult | null = null;
    let policies: PolicyCostResult | null = null;
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

      if (parts.has('throughput')) {
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
      }

      if (parts.has('policies'))
        policies = await policyCost(lab, prober, ctx, {
          rate: POLICY_RATE,
          clients: POLICY_CLIENTS,
          reps: Math.max(3, ctx.reps),
        });

      let have = 0;
      let probes = 0;
      const reps = Math.max(5, ctx.reps);
      for (const size of parts.has('propagation') ? SIZES : []) {
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
    const k = throughput?.byTarget.kubegate!.median;
    const h = throughput?.byTarget.haproxy!.median;
    const data = {
      setup: {
        cluster: 'kubegate dev --apiservers 1 --nodes 2 --gateway-api',
        backends: '2 echo-basic pods (examples/gateway-api/echo.yaml), port 3000',
        haproxy: `${HAPROXY_ADDRESS}:80 in the Gateway host namespace, nbthread ${HAPROXY_THREADS}, roundrobin, http-reuse always`,
        load: `h2load --h1 -m 1 from the underlay namespace, ${CLIENTS} connections, ${ctx.durationSeconds} s + ${ctx.warmupSeconds} s warm-up per run`,
        reps: Math.max(3, ctx.reps),
      },
      machineLoad: { before: noiseBefore, after: noiseAfter },
      ...(throughput === null || k === undefined || h === undefined
        ? {}
        : {
            throughput: {
              ...throughput,
              kubegateOverHAProxy: {
                reqPerSec: ratio(k.reqPerSec, h.reqPerSec),
                p50: ratio(k.p50Micros, h.p50Micros),
                p99: ratio(k.p99Micros, h.p99Micros),
                cpuMicrosPerRequest: ratio(k.cpuMicrosPerRequest, h.cpuMicrosPerRequest),
              },
            },
          }),
      ...(parts.has('propagation')
        ? {
            propagation: { targetMs: 50, anchorsMs: PROPAGATION_ANCHORS, sizes: propagation },
            routeChanges: changes,
          }
        : {}),
      ...(policies === null ? {} : { policyCost: policies }),
    } satisfies GatewayAPIData;
    return { name: 'gatewayapi', data, markdown: gatewayAPIMarkdown(data) };
  },
};
