import type { ScenarioContext } from './scenario.ts';
import { h1Load, type H1Result } from './gatewayapi-load.ts';
import { median, round } from './stats.ts';

/** A proxy in the Gateway's role: where h2load sends and whose CPU is counted. */
export interface ProxyTarget {
  name: string;
  url: string;
  pid: number;
}

/** Medians over the repetitions of one target. */
export interface ThroughputMedians {
  reqPerSec: number | null;
  p50Micros: number | null;
  p99Micros: number | null;
  cpuMicrosPerRequest: number | null;
  rssMiB: number | null;
  non2xxOrErrors: number;
}

export interface ThroughputResult {
  clients: number;
  byTarget: Record<string, { median: ThroughputMedians; runs: H1Result[] }>;
}

/**
 * HTTP/1.1 at max rate (`clients` connections, one request in flight each) through every target,
 * after one unrecorded 2 s run each; the target order rotates every repetition.
 */
export async function measureThroughput(
  ctx: ScenarioContext,
  outside: [string, string[]],
  host: string,
  targets: readonly ProxyTarget[],
  reps: number,
  clients: number,
): Promise<ThroughputResult> {
  const load = (t: ProxyTarget, durationSeconds: number, warmupSeconds: number) =>
    h1Load(
      outside,
      { url: t.url, host, rate: 'max', clients, durationSeconds, warmupSeconds },
      t.pid,
      ctx.dir,
    );
  for (const t of targets) await load(t, 2, 0);
  const runs = new Map<string, H1Result[]>(targets.map((t) => [t.name, []]));
  for (let rep = 0; rep < reps; rep++) {
    const order = targets.map((_, i) => targets[(i + rep) % targets.length]!);
    for (const t of order) {
      const r = await load(t, ctx.durationSeconds, ctx.warmupSeconds);
      runs.get(t.name)!.push(r);
      console.log(
        `bench gatewayapi: throughput ${t.name} rep ${rep + 1}: ${Math.round(r.reqPerSec)} req/s, p50 ${r.p50} µs, p99 ${r.p99} µs, ${Math.round(r.cpuMicrosPerRequest)} µs CPU/req`,
      );
    }
  }
  const byTarget: ThroughputResult['byTarget'] = {};
  for (const [name, rs] of runs) {
    byTarget[name] = {
      median: {
        reqPerSec: round(median(rs.map((r) => r.reqPerSec)), 0),
        p50Micros: round(median(rs.map((r) => r.p50)), 0),
        p99Micros: round(median(rs.map((r) => r.p99)), 0),
        cpuMicrosPerRequest: round(median(rs.map((r) => r.cpuMicrosPerRequest)), 0),
        rssMiB: round(median(rs.map((r) => r.rssMiB)), 1),
        non2xxOrErrors: rs.reduce((n, r) => n + r.non2xx + r.errored + r.timedOut, 0),
      },
      runs: rs.map((r) => ({
        ...r,
        reqPerSec: round(r.reqPerSec, 0) ?? 0,
        cpuMicrosPerRequest: round(r.cpuMicrosPerRequest, 0) ?? 0,
        rssMiB: round(r.rssMiB, 1) ?? 0,
      })),
    };
  }
  return { clients, byTarget };
}

/** a / b of two medians, 2 decimals (null when either is missing). */
export function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : round(a / b, 2);
}
