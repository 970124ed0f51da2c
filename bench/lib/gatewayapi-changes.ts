import type { GatewayAPILab } from './gatewayapi-lab.ts';
import { STEADY_HOST } from './gatewayapi-lab.ts';
import { h1Load, type H1Result } from './gatewayapi-load.ts';
import type { Prober } from './gatewayapi-probes.ts';
import { waitIdle } from './gatewayapi-idle.ts';
import { bulkRoute, changeRoute, waitAllAccepted } from './gatewayapi-routes.ts';
import { median, round } from './stats.ts';

/** One steady-load run, quiet or with route changes during it. */
export interface ChangeRun extends H1Result {
  kind: 'quiet' | 'changing';
  /** From the first PATCH sent to the last one answered (s). */
  changesSeconds: number | null;
  /** The last PATCH answered → its new match first served from outside (ms). */
  lastChangeServedMs: number | null;
}

export interface ChangesResult {
  routes: number;
  changes: number;
  rate: number;
  clients: number;
  durationSeconds: number;
  runs: ChangeRun[];
  median: Record<
    'quiet' | 'changing',
    { requests: number | null; p50Micros: number | null; p99Micros: number | null; failed: number }
  >;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A steady HTTP/1.1 load at `rate` req/s against the steady route; in the `changing` runs, 2 s in,
 * bulk routes 0…changes-1 get a new path prefix and header match each, one PATCH after the other as
 * fast as the API answers. Quiet and changing runs alternate; `failed` counts non-2xx answers,
 * stream/connection errors and timeouts of the steady load.
 */
export async function changesUnderLoad(
  lab: GatewayAPILab,
  prober: Prober,
  dir: string,
  opts: {
    /** The routes' match version to start from (above every version a previous call used). */
    firstVersion: number;
    reps: number;
    changes: number;
    rate: number;
    clients: number;
    durationSeconds: number;
    totalRoutes: number;
  },
): Promise<ChangesResult> {
  const api = lab.api;
  // Give the changed routes a match their previous state never has, so the probe's 200 can only come
  // from the change (a `/` prefix would match every probe).
  let version = opts.firstVersion;
  for (let k = 0; k < opts.changes; k++) await changeRoute(api, k, opts.firstVersion);
  await waitAllAccepted(api, opts.totalRoutes, 600_000);
  await waitIdle(lab.gatewayAPIPid, 300_000);
  const runs: ChangeRun[] = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    const order = rep % 2 === 0 ? (['quiet', 'changing'] as const) : (['changing', 'quiet'] as const);
    for (const kind of order) {
      const load = h1Load(
        lab.outside,
        {
          url: `http://${lab.gatewayAddress}/`,
          host: STEADY_HOST,
          rate: opts.rate,
          clients: opts.clients,
          durationSeconds: opts.durationSeconds,
          warmupSeconds: 1,
        },
        lab.gatewayAPIPid,
        dir,
      );
      let changesSeconds: number | null = null;
      let lastChangeServedMs: number | null = null;
      if (kind === 'changing') {
        await settle(2000);
        const first = version + 1;
        version += opts.changes;
        const last = bulkRoute(opts.changes - 1);
        const probe = prober.probe(lab.gatewayAddress, last.host, {
          path: `/v${version}`,
          headers: { 'x-bench': String(version) },
        });
        await probe.answered;
        const t0 = performance.now();
        for (let k = 0; k < opts.changes; k++) await changeRoute(api, k, first + k);
        const lastAt = process.hrtime.bigint();
        changesSeconds = round((performance.now() - t0) / 1000, 2);
        lastChangeServedMs = await probe.served.then(
          (at) => round(Number(at - lastAt) / 1e6, 1),
          () => null,
        );
      }
      const r = await load;
      runs.push({ ...r, kind, changesSeconds, lastChangeServedMs });
      console.log(
        `bench gatewayapi: steady load ${kind}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errored} errored, ${r.timedOut} timed out, p99 ${r.p99} µs` +
          (kind === 'changing'
            ? `; ${opts.changes} changes in ${changesSeconds} s, last served ${lastChangeServedMs} ms after its PATCH`
            : ''),
      );
      await waitAllAccepted(api, opts.totalRoutes, 600_000);
      await waitIdle(lab.gatewayAPIPid, 300_000);
    }
  }
  const med = (kind: 'quiet' | 'changing') => {
    const rs = runs.filter((r) => r.kind === kind);
    return {
      requests: round(median(rs.map((r) => r.requests)), 0),
      p50Micros: round(median(rs.map((r) => r.p50)), 0),
      p99Micros: round(median(rs.map((r) => r.p99)), 0),
      failed: rs.reduce((n, r) => n + r.non2xx + r.errored + r.timedOut, 0),
    };
  };
  return {
    routes: opts.totalRoutes,
    changes: opts.changes,
    rate: opts.rate,
    clients: opts.clients,
    durationSeconds: opts.durationSeconds,
    runs: runs.map((r) => ({
      ...r,
      reqPerSec: round(r.reqPerSec, 0) ?? 0,
      cpuMicrosPerRequest: round(r.cpuMicrosPerRequest, 0) ?? 0,
      rssMiB: round(r.rssMiB, 1) ?? 0,
    })),
    median: { quiet: med('quiet'), changing: med('changing') },
  };
}
