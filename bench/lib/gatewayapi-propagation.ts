import type { KubeClient } from '../../src/kube/client.ts';
import type { GatewayAPILab } from './gatewayapi-lab.ts';
import type { Prober } from './gatewayapi-probes.ts';
import { bulkRoute, createBulkRoutes, createRoute, waitAllAccepted } from './gatewayapi-routes.ts';
import { timeTranslation, type TranslateTime } from './gatewayapi-translate-time.ts';
import { waitIdle } from './gatewayapi-idle.ts';
import { processUsage } from './process-usage.ts';
import { median, round } from './stats.ts';

/** One new route: POST answered → first 200 from outside. */
export interface PropagationRun {
  ms: number | null;
  /** From the POST sent (the API's watch event may reach the controller before the POST's answer). */
  fromSendMs: number | null;
  postMs: number | null;
  /** CPU of the gateway-api process from the POST until it was idle again, its status written (ms). */
  gatewayCpuMs: number | null;
}

export interface PropagationAtSize {
  routes: number;
  /** Bulk creation of the routes added for this size: POSTs done, the last one served, all Accepted (s). */
  bulk: {
    added: number;
    createSeconds: number | null;
    lastServedSeconds: number | null;
    allAcceptedSeconds: number | null;
  };
  medianMs: number | null;
  maxMs: number | null;
  /** The same from the POST sent. */
  fromSendMedianMs: number | null;
  fromSendMaxMs: number | null;
  runs: PropagationRun[];
  translate: TranslateTime;
}

/**
 * Grows the bench routes to `size` (16 POSTs in flight, straight to the API server), waits until the
 * controller has written every status (it is idle again), then `reps` times creates one more route
 * while the prober asks for its host name every ~2 ms, and times the POST's answer → the first 200.
 */
export async function propagationAtSize(
  lab: GatewayAPILab,
  prober: Prober,
  size: number,
  have: number,
  probesSoFar: number,
  reps: number,
): Promise<PropagationAtSize> {
  const api = lab.api;
  const t0 = performance.now();
  const last = bulkRoute(size - 1);
  const lastServed = prober.probe(lab.gatewayAddress, last.host, { intervalMs: 20, timeoutMs: 900_000 });
  await createBulkRoutes(api, have, size);
  const created = performance.now();
  await lastServed.served;
  const served = performance.now();
  await waitAllAccepted(api, size + probesSoFar, 900_000);
  const accepted = performance.now();
  console.log(
    `bench gatewayapi: ${size - have} routes created in ${((created - t0) / 1000).toFixed(1)} s, last served after ${((served - t0) / 1000).toFixed(1)} s, all Accepted after ${((accepted - t0) / 1000).toFixed(1)} s`,
  );
  await waitIdle(lab.gatewayAPIPid);
  const runs: PropagationRun[] = [];
  for (let rep = 0; rep < reps; rep++) {
    runs.push(await oneNewRoute(lab, prober, api, `p${size}-${rep}`, size + probesSoFar + rep + 1));
    const r = runs[runs.length - 1]!;
    console.log(
      `bench gatewayapi: ${size} routes, new route served ${r.ms} ms after its POST answered, ${r.fromSendMs} ms after it was sent`,
    );
  }
  const translate = await timeTranslation(api, lab.addressPool);
  const ms = runs.map((r) => r.ms).filter((v): v is number => v !== null);
  const fromSend = runs.map((r) => r.fromSendMs).filter((v): v is number => v !== null);
  return {
    routes: size,
    bulk: {
      added: size - have,
      createSeconds: round((created - t0) / 1000, 1),
      lastServedSeconds: round((served - t0) / 1000, 1),
      allAcceptedSeconds: round((accepted - t0) / 1000, 1),
    },
    medianMs: round(median(ms), 1),
    maxMs: ms.length > 0 ? round(Math.max(...ms), 1) : null,
    fromSendMedianMs: round(median(fromSend), 1),
    fromSendMaxMs: fromSend.length > 0 ? round(Math.max(...fromSend), 1) : null,
    runs,
    translate: {
      ...translate,
      translateMs: round(translate.translateMs, 1) ?? Number.NaN,
      tablesMs: round(translate.tablesMs, 1) ?? Number.NaN,
    },
  };
}

async function oneNewRoute(
  lab: GatewayAPILab,
  prober: Prober,
  api: KubeClient,
  name: string,
  total: number,
): Promise<PropagationRun> {
  const host = `${name}.bench.example`;
  const probe = prober.probe(lab.gatewayAddress, host, { intervalMs: 2, timeoutMs: 60_000 });
  const first = await probe.answered;
  if (first === 200) throw new Error(`${host} answered 200 before its route existed`);
  const cpu0 = processUsage(lab.gatewayAPIPid).cpuMicros;
  const post = await createRoute(api, name, host);
  let servedAt: bigint | null = null;
  try {
    servedAt = await probe.served;
  } catch (err) {
    console.log(`bench gatewayapi: ${(err as Error).message}`);
  }
  await waitAllAccepted(api, total, 120_000);
  // Its status write is one more translation: idle again, the CPU is what one new route cost.
  await waitIdle(lab.gatewayAPIPid);
  const cpu1 = processUsage(lab.gatewayAPIPid).cpuMicros;
  return {
    ms: servedAt === null ? null : round(Number(servedAt - post.answered) / 1e6, 1),
    fromSendMs: servedAt === null ? null : round(Number(servedAt - post.sent) / 1e6, 1),
    postMs: round(Number(post.answered - post.sent) / 1e6, 1),
    gatewayCpuMs: round((cpu1 - cpu0) / 1000, 0),
  };
}
