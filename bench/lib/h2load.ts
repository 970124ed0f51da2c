import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { percentile } from './stats.ts';

/** One h2load run: a fixed total rate (`rate` req/s) or as fast as it can (`rate: 'max'`). */
export interface LoadSpec {
  url: string;
  rate: number | 'max';
  durationSeconds: number;
  warmupSeconds: number;
  headers?: readonly string[];
  /** Connections; default: enough for the rate (≤ 100 req/s each), 50 at max. */
  clients?: number;
  /** Concurrent streams per connection (default 10). */
  streams?: number;
}

/** What one run measured; latencies in µs, from the per-request log after warm-up. */
export interface LoadResult {
  rate: number | 'max';
  reqPerSec: number;
  requests: number;
  succeeded: number;
  failed: number;
  non2xx: number;
  p50: number;
  p90: number;
  p99: number;
  /** Every request h2load completed, warm-up included (for CPU per request). */
  allRequests: number;
}

/** The h2load arguments for a spec (`--rps` is per client, so the total rate is clients × rps). */
export function h2loadArgs(spec: LoadSpec, logFile: string): string[] {
  const streams = spec.streams ?? 10;
  const args = ['-D', String(spec.durationSeconds), '--warm-up-time', String(spec.warmupSeconds)];
  args.push('-m', String(streams), '-t', '1', '--log-file', logFile);
  if (spec.rate === 'max') {
    args.push('-c', String(spec.clients ?? 50));
  } else {
    const clients = spec.clients ?? Math.max(1, Math.ceil(spec.rate / 100));
    args.push('-c', String(clients), '--rps', String(spec.rate / clients));
  }
  for (const h of spec.headers ?? []) args.push('-H', h);
  args.push(spec.url);
  return args;
}

/** Parses h2load's summary (req/s, counts, status classes). */
export function parseSummary(out: string): {
  reqPerSec: number;
  succeeded: number;
  failed: number;
  non2xx: number;
} {
  const fin = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const req = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!fin || !req) throw new Error(`unexpected h2load output:\n${out}`);
  const non2xx = codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0;
  return { reqPerSec: Number(fin[1]), succeeded: Number(req[1]), failed: Number(req[2]), non2xx };
}

/** Latency percentiles from h2load's log (start µs, status, duration µs), skipping the warm-up. */
export function parseLog(
  text: string,
  warmupSeconds: number,
): { p50: number; p90: number; p99: number; all: number } {
  const rows: [number, number][] = [];
  let first = Infinity;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [start, , dur] = line.split('\t');
    const s = Number(start);
    if (s < first) first = s;
    rows.push([s, Number(dur)]);
  }
  const cut = first + warmupSeconds * 1e6;
  const lat = rows.filter(([s]) => s >= cut).map(([, d]) => d);
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), all: rows.length };
}

/**
 * Runs `cmd args…` (h2load, or h2load behind a prefix such as `ip netns exec`) within `timeoutMs`
 * and returns its output; h2load exits non-zero when some requests failed, and its summary still
 * says how many, so only a run without a summary is an error.
 */
export function execH2load(cmd: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err && !stdout.includes('finished in'))
          reject(
            new Error(
              `h2load failed (exit ${err.code ?? err.signal}): ${stderr.slice(-500)}\n${stdout.slice(-1500)}`,
            ),
          );
        else resolve(stdout);
      },
    );
  });
}

/** Runs h2load once, bounded by its duration plus a margin, and returns what it measured. */
export async function runLoad(spec: LoadSpec, tmpDir: string): Promise<LoadResult> {
  const logFile = join(tmpDir, `h2load-${process.pid}-${Date.now()}.log`);
  const timeout = (spec.durationSeconds + spec.warmupSeconds + 20) * 1000;
  const out = await execH2load('h2load', h2loadArgs(spec, logFile), timeout);
  const sum = parseSummary(out);
  const log = parseLog(await readFile(logFile, 'utf8'), spec.warmupSeconds);
  await rm(logFile, { force: true });
  return {
    rate: spec.rate,
    reqPerSec: sum.reqPerSec,
    requests: sum.succeeded + sum.failed,
    succeeded: sum.succeeded,
    failed: sum.failed,
    non2xx: sum.non2xx,
    p50: log.p50,
    p90: log.p90,
    p99: log.p99,
    allRequests: log.all,
  };
}
