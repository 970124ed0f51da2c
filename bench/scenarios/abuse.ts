import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/dev/ports.ts';
import { connectionsOn } from '../lib/connections.ts';
import { Gateway } from '../lib/gateway.ts';
import { runLoad, type LoadResult } from '../lib/h2load.ts';
import { createBenchPKI } from '../lib/pki.ts';
import { processUsage } from '../lib/process-usage.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import { median, round } from '../lib/stats.ts';
import { BENCH_TOKEN, TinyUpstream } from '../lib/tiny-upstream.ts';

const PATH = '/api/v1/namespaces/default/configmaps/bench';
const ATTACKER = fileURLToPath(new URL('../lib/attacker.ts', import.meta.url));
const RATE = 500;
const SLOW_CONNECTIONS = 10_000;
// Source addresses for the slow connections (127.0.1.1…), so the per-client-IP cap (default
// 10,000) is not what stops them and the well-behaved h2load on 127.0.0.1 keeps its own budget.
const SLOW_IPS = 20;
const RAPID_RESET_CONNECTIONS = 4;

type Phase = 'unloaded' | 'slowloris' | 'rapid-reset';
const ALL_PHASES: readonly Phase[] = ['unloaded', 'slowloris', 'unloaded', 'rapid-reset'];
// BENCH_ABUSE_ATTACKS=rapid-reset runs one attack only (each still after an unloaded phase).
const PHASES: readonly Phase[] = process.env.BENCH_ABUSE_ATTACKS
  ? process.env.BENCH_ABUSE_ATTACKS.split(',').flatMap((a) => ['unloaded', a.trim() as Phase])
  : ALL_PHASES;

interface PhaseRun {
  phase: Phase;
  load: LoadResult;
  /** Gateway RSS: before the attack, and the highest sample while it ran. */
  rssBeforeKiB: number;
  rssMaxKiB: number;
  /** Client connections established on the gateway's port mid-run (all clients). */
  connectionsMid: number;
  attacker: Record<string, number> | null;
}

class Attacker {
  readonly #child: ChildProcess;
  #out = '';

  constructor(args: readonly string[]) {
    this.#child = spawn(process.execPath, [ATTACKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.#child.stdout!.on('data', (c: Buffer) => (this.#out += c.toString()));
  }

  /** SIGTERM; resolves with the attacker's counters. */
  async stop(): Promise<Record<string, number>> {
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    const line = this.#out.trim().split('\n').pop() ?? '{}';
    return JSON.parse(line) as Record<string, number>;
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** h2load at RATE req/s while sampling the gateway's RSS every 250 ms. */
async function measured(gw: Gateway, seconds: number, warmup: number, dir: string) {
  let rssMaxKiB = 0;
  const sampler = setInterval(() => {
    rssMaxKiB = Math.max(rssMaxKiB, processUsage(gw.pid).rssKiB);
  }, 250);
  const load = runLoad(
    {
      url: gw.url + PATH,
      rate: RATE,
      durationSeconds: seconds,
      warmupSeconds: warmup,
      headers: [`authorization: Bearer ${BENCH_TOKEN}`],
    },
    dir,
  );
  await sleep(((warmup + seconds) * 1000) / 2);
  const connectionsMid = await connectionsOn(gw.opts.port);
  const result = await load;
  clearInterval(sampler);
  return { load: result, rssMaxKiB, connectionsMid };
}

async function runPhase(
  phase: Phase,
  gw: Gateway,
  seconds: number,
  warmup: number,
  dir: string,
): Promise<PhaseRun> {
  const rssBeforeKiB = processUsage(gw.pid).rssKiB;
  let attacker: Attacker | null = null;
  if (phase === 'slowloris') {
    attacker = new Attacker([
      'slowloris',
      String(gw.opts.port),
      String(SLOW_CONNECTIONS),
      String(SLOW_IPS),
      '5000',
    ]);
    // The ramp opens 500 per second; wait until the gateway holds them all (or 60 s).
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await connectionsOn(gw.opts.port)) < SLOW_CONNECTIONS * 0.98)
      await sleep(1000);
  } else if (phase === 'rapid-reset') {
    attacker = new Attacker([
      'rapid-reset',
      String(gw.opts.port),
      String(RAPID_RESET_CONNECTIONS),
      BENCH_TOKEN,
    ]);
    await sleep(2000);
  }
  try {
    const m = await measured(gw, seconds, warmup, dir);
    const stats = attacker ? await attacker.stop() : null;
    attacker = null;
    const r: PhaseRun = { phase, ...m, rssBeforeKiB, attacker: stats };
    console.log(
      `  ${phase}: ${r.load.reqPerSec.toFixed(0)} req/s, p50 ${r.load.p50} µs, p99 ${r.load.p99} µs, failed ${r.load.failed}, non-2xx ${r.load.non2xx}; ` +
        `RSS ${(rssBeforeKiB / 1024).toFixed(0)} → max ${(r.rssMaxKiB / 1024).toFixed(0)} MiB; ${r.connectionsMid} connections mid-run` +
        (stats ? `; attacker ${JSON.stringify(stats)}` : ''),
    );
    return r;
  } finally {
    if (attacker) await attacker.stop();
  }
}

/** 10,000 slowloris connections and an HTTP/2 rapid-reset flood vs a well-behaved client's p99. */
export const abuse: Scenario = {
  name: 'abuse',
  describe: `well-behaved h2 client at ${RATE} req/s (tiny upstream): unloaded, beside ${SLOW_CONNECTIONS} slowloris connections, beside a rapid-reset flood`,
  async run(ctx) {
    const pki = await createBenchPKI(join(ctx.dir, 'pki'));
    const upstream = new TinyUpstream(pki);
    await upstream.start();
    const gw = new Gateway({
      port: await freePort(),
      adminPort: await freePort(),
      upstreams: [upstream.url],
      tls: { certFile: pki.server.cert, keyFile: pki.server.key, clientCAFile: pki.ca.cert },
      upstreamCA: pki.ca.cert,
      credentials: { certFile: pki.gatewayClient.cert, keyFile: pki.gatewayClient.key },
      dir: ctx.dir,
    });
    const seconds = Math.max(ctx.durationSeconds, 10);
    const runs: PhaseRun[] = [];
    try {
      await gw.start();
      // Warm the token cache and the upstream sessions.
      await runLoad(
        {
          url: gw.url + PATH,
          rate: RATE,
          durationSeconds: 2,
          warmupSeconds: 0,
          headers: [`authorization: Bearer ${BENCH_TOKEN}`],
        },
        ctx.dir,
      );
      for (let rep = 0; rep < ctx.reps; rep++) {
        for (const phase of PHASES) {
          runs.push(await runPhase(phase, gw, seconds, ctx.warmupSeconds, ctx.dir));
          // Let the gateway close what the attacker left and settle.
          await sleep(3000);
        }
      }
      const refused = await fetch(`http://127.0.0.1:${gw.opts.adminPort}/metrics`)
        .then((r) => r.text())
        .then((t) => t.split('\n').filter((l) => l.startsWith('kubegate_client_connections_refused_total')));
      const of = (p: Phase) => runs.filter((r) => r.phase === p);
      const p99 = (p: Phase) => median(of(p).map((r) => r.load.p99));
      const base = p99('unloaded');
      const summary = [...new Set(PHASES)].map((p) => ({
        phase: p,
        runs: of(p).length,
        p50: median(of(p).map((r) => r.load.p50)),
        p99: p99(p),
        p99VsUnloaded: round(p99(p) / base, 2),
        failed: of(p).reduce((s, r) => s + r.load.failed, 0),
        non2xx: of(p).reduce((s, r) => s + r.load.non2xx, 0),
        rssMaxMiB: round(Math.max(...of(p).map((r) => r.rssMaxKiB)) / 1024, 0),
        connectionsMid: median(of(p).map((r) => r.connectionsMid)),
      }));
      return {
        name: 'abuse',
        data: {
          rate: RATE,
          slowConnections: SLOW_CONNECTIONS,
          slowSourceAddresses: SLOW_IPS,
          rapidResetConnections: RAPID_RESET_CONNECTIONS,
          summary,
          refusedConnectionsMetric: refused,
          runs,
        },
        markdown: [
          '## abuse',
          '',
          `Well-behaved h2load client at ${RATE} req/s through kubegate to the tiny upstream; medians of ${ctx.reps} runs per phase.`,
          `slowloris: ${SLOW_CONNECTIONS} TLS connections from ${SLOW_IPS} loopback addresses, each a request head that gains one header line every 5 s (reconnecting when closed).`,
          `rapid-reset: ${RAPID_RESET_CONNECTIONS} HTTP/2 connections sending HEADERS + RST_STREAM as fast as they can (reconnecting on GOAWAY).`,
          '',
          table(
            [
              'phase',
              'p50 µs',
              'p99 µs',
              'p99 / unloaded',
              'failed',
              'non-2xx',
              'max RSS MiB',
              'connections',
            ],
            summary.map((s) => [
              s.phase,
              s.p50,
              s.p99,
              s.p99VsUnloaded,
              s.failed,
              s.non2xx,
              s.rssMaxMiB,
              s.connectionsMid,
            ]),
          ),
        ].join('\n'),
      };
    } finally {
      await gw.stop();
      await upstream.stop();
    }
  },
};
