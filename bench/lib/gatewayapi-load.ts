import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execH2load, h2loadArgs, parseLog, parseSummary, type LoadSpec } from './h2load.ts';
import { stopChild } from './haproxy.ts';
import { processUsage } from './process-usage.ts';

/** One HTTP/1.1 h2load run from outside, with the proxy's CPU over it. */
export interface H1Result {
  reqPerSec: number;
  /** Requests h2load counted after warm-up: 2xx, other statuses, and stream/connection errors and timeouts. */
  requests: number;
  ok2xx: number;
  non2xx: number;
  errored: number;
  timedOut: number;
  p50: number;
  p99: number;
  /** The proxy process's CPU (user+system, all threads) per request, warm-up requests included. */
  cpuMicrosPerRequest: number;
  rssMiB: number;
}

/**
 * h2load --h1 (`-m 1`: no pipelining) run as `netnsExec` (`ip netns exec <underlay>`) against
 * `url` with Host `host`, measuring process `pid`'s CPU from /proc before and after.
 */
export async function h1Load(
  netnsExec: [string, string[]],
  spec: Omit<LoadSpec, 'streams'> & { host: string },
  pid: number,
  tmpDir: string,
): Promise<H1Result> {
  const logFile = join(tmpDir, `h2load-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  const args = [
    '--h1',
    ...h2loadArgs(
      { ...spec, streams: 1, headers: [`:authority: ${spec.host}`, ...(spec.headers ?? [])] },
      logFile,
    ),
  ];
  const [cmd, prefix] = netnsExec;
  const timeout = (spec.durationSeconds + spec.warmupSeconds + 30) * 1000;
  const before = processUsage(pid);
  const out = await execH2load(cmd, [...prefix, 'h2load', ...args], timeout);
  const after = processUsage(pid);
  const sum = parseSummary(out);
  const counts =
    /requests: (\d+) total, \d+ started, \d+ done, \d+ succeeded, \d+ failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const codes = /status codes: (\d+) 2xx/.exec(out);
  const log = parseLog(await readFile(logFile, 'utf8').catch(() => ''), spec.warmupSeconds);
  await rm(logFile, { force: true });
  return {
    reqPerSec: sum.reqPerSec,
    requests: counts ? Number(counts[1]) : sum.succeeded + sum.failed,
    ok2xx: codes ? Number(codes[1]) : 0,
    non2xx: sum.non2xx,
    errored: counts ? Number(counts[2]) : 0,
    timedOut: counts ? Number(counts[3]) : 0,
    p50: log.p50,
    p99: log.p99,
    cpuMicrosPerRequest: log.all > 0 ? (after.cpuMicros - before.cpuMicros) / log.all : Number.NaN,
    rssMiB: after.rssKiB / 1024,
  };
}

/** haproxy.cfg for the Gateway's role: HTTP/1.1 in, round-robin per request over `servers` with pooled keep-alive connections. */
export function gatewayHAProxyConfig(bind: string, servers: readonly string[], threads: number): string {
  return [
    'global',
    `  nbthread ${threads}`,
    '  maxconn 8000',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 120s',
    '  timeout server 120s',
    '  http-reuse always',
    'frontend fe',
    `  bind ${bind}`,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    ...servers.map((s, i) => `  server s${i} ${s}`),
    '',
  ].join('\n');
}

/** HAProxy in the Gateway host's namespace (`ip netns exec <gw> haproxy -db -f cfg`). */
export class GatewayHostHAProxy {
  #child: ChildProcess | null = null;

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  async start(netnsExec: [string, string[]], dir: string, cfgText: string): Promise<void> {
    const cfg = join(dir, 'haproxy-gatewayapi.cfg');
    await writeFile(cfg, cfgText);
    const [cmd, prefix] = netnsExec;
    const c = spawn(cmd, [...prefix, 'haproxy', '-db', '-f', cfg], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.#child = c;
    await new Promise<void>((resolve, reject) => {
      c.once('spawn', resolve);
      c.once('error', reject);
    });
    // `ip netns exec` execs haproxy: the pid is haproxy's once the exec happened.
    for (let i = 0; i < 50; i++) {
      const comm = await readFile(`/proc/${c.pid}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === 'haproxy') return;
      if (c.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`haproxy did not start in the Gateway host namespace (exit ${c.exitCode})`);
  }

  async stop(): Promise<void> {
    await stopChild(this.#child, 3000);
    this.#child = null;
  }
}
