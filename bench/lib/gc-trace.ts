import { median, round } from './stats.ts';

/** One stop-the-world GC pause, read from a `node --trace-gc` line. */
export interface GcPause {
  /** The isolate (main thread or a worker thread) it stopped. */
  isolate: string;
  kind: 'scavenge' | 'mark-compact';
  /** When, in ms since that isolate started. */
  atMs: number;
  /** How long its thread stood still. */
  pauseMs: number;
}

// `[pid:0xisolate]   213 ms: Scavenge 9.1 (10.1) -> 8.7 (11.1) MB, pooled: 0 MB, 4.97 / 0.00 ms  (…`
// The first number after the sizes is the pause; the second the time of external callbacks.
// Mark-Compact lines also say how long incremental marking ran before it, in other threads or in
// steps: that is not a pause of its own, and is left out.
const LINE =
  /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: (Scavenge|Mark-Compact|Minor Mark-Sweep)\b[^,]*,(?: pooled: [\d.]+ MB,)? ([\d.]+) \/ [\d.]+ ms/;

/** The pauses `--trace-gc` printed in `text` (other lines ignored). */
export function parseTraceGc(text: string): GcPause[] {
  const out: GcPause[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    out.push({
      isolate: m[1]!,
      kind: m[3] === 'Mark-Compact' ? 'mark-compact' : 'scavenge',
      atMs: Number(m[2]),
      pauseMs: Number(m[4]),
    });
  }
  return out;
}

/** Count, total, median and longest pause of one kind. */
export interface PauseStats {
  count: number;
  totalMs: number | null;
  medianMs: number | null;
  maxMs: number | null;
}

/** What the GC did to the serving threads during one load. */
export interface GcSummary {
  scavenges: PauseStats;
  markCompacts: PauseStats;
  /** Pauses of 5 ms or more, and of 20 ms or more: what a request's latency can sit behind. */
  over5ms: number;
  over20ms: number;
  /** Share of the load's wall time each thread stood still, on average. */
  pausedShare: number | null;
}

/** Sums the pauses of the isolates in `threads` (all when empty) over a load of `seconds`. */
export function summarizeGc(pauses: readonly GcPause[], seconds: number, threads = 1): GcSummary {
  const of = (kind: GcPause['kind']): PauseStats => {
    const ms = pauses.filter((p) => p.kind === kind).map((p) => p.pauseMs);
    return {
      count: ms.length,
      totalMs: round(ms.reduce((a, b) => a + b, 0)),
      medianMs: round(median(ms), 2),
      maxMs: ms.length === 0 ? null : round(Math.max(...ms)),
    };
  };
  const total = pauses.reduce((a, p) => a + p.pauseMs, 0);
  return {
    scavenges: of('scavenge'),
    markCompacts: of('mark-compact'),
    over5ms: pauses.filter((p) => p.pauseMs >= 5).length,
    over20ms: pauses.filter((p) => p.pauseMs >= 20).length,
    pausedShare: round(total / (seconds * 1000 * threads), 4),
  };
}
