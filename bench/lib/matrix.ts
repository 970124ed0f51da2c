import { processUsage } from './process-usage.ts';
import { runLoad, type LoadResult } from './h2load.ts';
import { median, round } from './stats.ts';

/** One way to reach the upstream (direct, kubegate, HAProxy…); `pid` is sampled for CPU and RSS. */
export interface Target {
  name: string;
  url: string;
  pid?: number;
}

/** One run, with the proxy's CPU per request and RSS when it has a pid. */
export interface Run extends LoadResult {
  target: string;
  rep: number;
  cpuMicrosPerRequest: number | null;
  rssMiB: number | null;
}

/** Medians over the repetitions of one target at one rate. */
export interface Cell {
  target: string;
  rate: number | 'max';
  reqPerSec: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  cpuMicrosPerRequest: number | null;
  rssMiB: number | null;
  failed: number;
  non2xx: number;
}

export interface MatrixOptions {
  rates: readonly (number | 'max')[];
  reps: number;
  durationSeconds: number;
  warmupSeconds: number;
  headers: readonly string[];
  path: string;
  tmpDir: string;
}

async function measure(t: Target, rate: number | 'max', rep: number, o: MatrixOptions): Promise<Run> {
  const before = t.pid ? processUsage(t.pid) : null;
  const r = await runLoad(
    {
      url: t.url + o.path,
      rate,
      durationSeconds: o.durationSeconds,
      warmupSeconds: o.warmupSeconds,
      headers: o.headers,
    },
    o.tmpDir,
  );
  const after = t.pid ? processUsage(t.pid) : null;
  const cpu =
    before && after && r.allRequests > 0 ? (after.cpuMicros - before.cpuMicros) / r.allRequests : null;
  return { ...r, target: t.name, rep, cpuMicrosPerRequest: cpu, rssMiB: after ? after.rssKiB / 1024 : null };
}

/** Runs every rate × target `reps` times, targets alternating within each rate, and prints each run. */
export async function runMatrix(
  targets: readonly Target[],
  o: MatrixOptions,
): Promise<{ runs: Run[]; cells: Cell[] }> {
  const runs: Run[] = [];
  // One unrecorded run per target at max load first, so JIT warm-up and first connections are not measured.
  for (const t of targets) {
    await runLoad(
      { url: t.url + o.path, rate: 'max', durationSeconds: 2, warmupSeconds: 1, headers: o.headers },
      o.tmpDir,
    );
  }
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const rate of o.rates) {
      // Rotate the order each repetition so no target always runs first (warmest/coldest).
      const order = targets.map((_, i) => targets[(i + rep) % targets.length]!);
      for (const t of order) {
        const r = await measure(t, rate, rep, o);
        runs.push(r);
        const cpu = r.cpuMicrosPerRequest === null ? '' : ` cpu ${r.cpuMicrosPerRequest.toFixed(1)} µs/req`;
        console.log(
          `  rep ${rep} ${String(rate).padStart(4)} ${t.name.padEnd(12)} ${r.reqPerSec.toFixed(0).padStart(6)} req/s` +
            ` p50 ${r.p50} p90 ${r.p90} p99 ${r.p99} µs${cpu} failed ${r.failed} non2xx ${r.non2xx}`,
        );
      }
    }
  }
  const cells: Cell[] = [];
  for (const rate of o.rates) {
    for (const t of targets) {
      const rs = runs.filter((r) => r.target === t.name && r.rate === rate);
      const m = (f: (r: Run) => number | null) =>
        round(median(rs.map(f).filter((v): v is number => v !== null)));
      cells.push({
        target: t.name,
        rate,
        reqPerSec: m((r) => r.reqPerSec),
        p50: m((r) => r.p50),
        p90: m((r) => r.p90),
        p99: m((r) => r.p99),
        cpuMicrosPerRequest: m((r) => r.cpuMicrosPerRequest),
        rssMiB: m((r) => r.rssMiB),
        failed: rs.reduce((a, r) => a + r.failed, 0),
        non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      });
    }
  }
  return { runs, cells };
}

/**
 * kubegate vs another target from the same session, at each rate: added latency, throughput ratio,
 * and the CPU per request ratio, both of the medians and as the median of each repetition's own
 * ratio (the two ran minutes apart at most, so a noisy spell of the machine weighs on both).
 */
export function compare(
  cells: readonly Cell[],
  a: string,
  b: string,
  runs: readonly Run[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const ca of cells.filter((c) => c.target === a)) {
    const cb = cells.find((c) => c.target === b && c.rate === ca.rate);
    if (!cb) continue;
    const d = (x: number | null, y: number | null) => (x === null || y === null ? null : round(x - y));
    const perRep: number[] = [];
    for (const ra of runs.filter((r) => r.target === a && r.rate === ca.rate)) {
      const rb = runs.find((r) => r.target === b && r.rate === ca.rate && r.rep === ra.rep);
      if (ra.cpuMicrosPerRequest && rb?.cpuMicrosPerRequest)
        perRep.push(ra.cpuMicrosPerRequest / rb.cpuMicrosPerRequest);
    }
    out[String(ca.rate)] = {
      addedP50: d(ca.p50, cb.p50),
      addedP90: d(ca.p90, cb.p90),
      addedP99: d(ca.p99, cb.p99),
      throughputRatio: ca.reqPerSec && cb.reqPerSec ? round(ca.reqPerSec / cb.reqPerSec, 3) : null,
      cpuRatio:
        ca.cpuMicrosPerRequest && cb.cpuMicrosPerRequest
          ? round(ca.cpuMicrosPerRequest / cb.cpuMicrosPerRequest, 3)
          : null,
      cpuRatioPerRep: perRep.length > 0 ? round(median(perRep), 3) : null,
    };
  }
  return out;
}
