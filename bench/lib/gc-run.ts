import { parseTraceGc, summarizeGc, type GcSummary } from './gc-trace.ts';
import { runLoad, type LoadResult } from './h2load.ts';
import { median, round } from './stats.ts';
import { table } from './results.ts';

/** A proxy started with `--trace-gc`, fresh for each repetition. */
export interface GcTarget {
  readonly name: string;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Everything `--trace-gc` printed since start. */
  gcTrace(): string;
}

export interface GcRunOptions {
  rate: number;
  seconds: number;
  warmupSeconds: number;
  reps: number;
  path: string;
  headers: readonly string[];
  /** Serving threads per proxy (pauses are shared out over them). */
  threads: number;
  dir: string;
}

/** One repetition: the load and the GC pauses during it (warm-up excluded). */
export interface GcRun {
  target: string;
  rep: number;
  load: LoadResult;
  gc: GcSummary;
}

/**
 * The tail at a fixed rate beside the GC pauses under it: each target in turn, alternating, each
 * repetition a fresh process warmed up at the same rate; the trace is cut where the measured load
 * starts, so start-up and warm-up collections are left out.
 */
export async function gcAtFixedRate(targets: readonly GcTarget[], o: GcRunOptions): Promise<GcRun[]> {
  const runs: GcRun[] = [];
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const t of targets) {
      await t.start();
      try {
        const spec = { url: t.url + o.path, rate: o.rate, headers: o.headers };
        await runLoad({ ...spec, durationSeconds: o.warmupSeconds, warmupSeconds: 0 }, o.dir);
        const from = t.gcTrace().length;
        const load = await runLoad({ ...spec, durationSeconds: o.seconds, warmupSeconds: 0 }, o.dir);
        const pauses = parseTraceGc(t.gcTrace().slice(from));
        runs.push({ target: t.name, rep, load, gc: summarizeGc(pauses, o.seconds, o.threads) });
      } finally {
        await t.stop();
      }
    }
  }
  return runs;
}

/** Per target, medians over the repetitions. */
export function gcTable(runs: readonly GcRun[]): { rows: Record<string, unknown>[]; markdown: string } {
  const names = [...new Set(runs.map((r) => r.target))];
  const rows = names.map((name) => {
    const of = runs.filter((r) => r.target === name);
    const m = (f: (r: GcRun) => number | null) =>
      round(median(of.map(f).filter((v): v is number => v !== null && Number.isFinite(v))), 2);
    return {
      target: name,
      reps: of.length,
      p50Us: m((r) => r.load.p50),
      p99Us: m((r) => r.load.p99),
      scavenges: m((r) => r.gc.scavenges.count),
      scavengeMedianMs: m((r) => r.gc.scavenges.medianMs),
      scavengeMaxMs: m((r) => r.gc.scavenges.maxMs),
      markCompacts: m((r) => r.gc.markCompacts.count),
      markCompactMaxMs: m((r) => r.gc.markCompacts.maxMs),
      pausesOver5ms: m((r) => r.gc.over5ms),
      pausesOver20ms: m((r) => r.gc.over20ms),
      pausedShare: m((r) => r.gc.pausedShare),
    };
  });
  const markdown = table(
    [
      'target',
      'p50 µs',
      'p99 µs',
      'scavenges',
      'median / max ms',
      'mark-compacts',
      'max ms',
      'pauses ≥ 5 ms',
      '≥ 20 ms',
      'time paused',
    ],
    rows.map((r) => [
      r.target,
      r.p50Us,
      r.p99Us,
      r.scavenges,
      `${r.scavengeMedianMs} / ${r.scavengeMaxMs}`,
      r.markCompacts,
      r.markCompactMaxMs,
      r.pausesOver5ms,
      r.pausesOver20ms,
      r.pausedShare === null ? '' : `${(r.pausedShare * 100).toFixed(1)}%`,
    ]),
  );
  return { rows, markdown };
}
