import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DevCluster } from '../lib/dev-cluster.ts';
import { machineLoad, type MachineLoad } from '../lib/gatewayapi-noise.ts';
import { pidsOf } from '../lib/informers.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import { median, round } from '../lib/stats.ts';
import { watchRound, type WatchRound, type WatchTarget } from '../lib/watch-round.ts';

const WATCHES = Number(process.env['BENCH_WATCHES'] ?? 10_000);
const WRITES = Number(process.env['BENCH_WATCH_WRITES'] ?? 5);
// kube-apiserver allows 100 concurrent streams per HTTP/2 connection: past that a direct watch waits
// in the client for a slot, so every connection gets at most 80 watches (both sides the same).
const SESSIONS = Number(process.env['BENCH_WATCH_SESSIONS'] ?? Math.max(50, Math.ceil(WATCHES / 80)));
// `kubegate-unshared` (every client watch forwarded) is a third side on request: it costs a round.
const TARGETS = (process.env['BENCH_WATCH_SIDES'] ?? 'direct,kubegate').split(',') as WatchTarget[];
const WORKERS =
  process.env.BENCH_KUBEGATE_WORKERS === undefined || process.env.BENCH_KUBEGATE_WORKERS === 'auto'
    ? availableParallelism()
    : Number(process.env.BENCH_KUBEGATE_WORKERS);

/**
 * 10,000 identical watches of one ConfigMap, straight to the 3 apiservers (round-robin, as an L4
 * balancer spreads clients) or through kubegate with `share: watches`, alternating: what the
 * apiservers hold and spend, gateway memory per client watch, and write → event delay to all.
 */
export const watches: Scenario = {
  name: 'watches',
  describe: `${WATCHES} identical ConfigMap watches: ${TARGETS.join(' vs ')}; upstream watches, memory per watch, write→event delay to all`,
  async run(ctx) {
    for (const t of TARGETS)
      if (!['direct', 'kubegate', 'kubegate-unshared'].includes(t))
        throw new Error(`BENCH_WATCH_SIDES: unknown side ${JSON.stringify(t)}`);
    const loadBefore = await machineLoad();
    console.log(`  machine load before: ${JSON.stringify(loadBefore)}`);
    const dev = new DevCluster(join(ctx.dir, 'dev'));
    const rounds: WatchRound[] = [];
    let loadAfter: MachineLoad;
    try {
      await dev.start(3);
      const token = await dev.benchObjects();
      const [ca, cert, key] = await Promise.all(
        ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(dev.pki(f))),
      );
      const apiservers = pidsOf('kube-apiserver', dev.dir);
      if (apiservers.length !== 3) throw new Error(`found ${apiservers.length} kube-apiservers of the bench`);
      const setup = {
        dir: ctx.dir,
        dev,
        token,
        admin: { ca, cert, key },
        apiservers,
        count: WATCHES,
        sessions: SESSIONS,
        writes: WRITES,
      };
      for (let r = 1; r <= ctx.reps; r++) {
        // Which side goes first alternates, so neither always runs on a machine the other just warmed.
        const order = r % 2 === 1 ? TARGETS : [...TARGETS].reverse();
        for (const target of order) {
          const x = await watchRound(setup, target, r);
          rounds.push(x);
          console.log(
            `  ${target} round ${r}: ${x.opened}/${WATCHES} open in ${x.openSeconds.toFixed(1)} s ${JSON.stringify(x.statuses)}; ` +
              `apiservers hold ${x.upstreamWatches} more WATCHes (gateway: ${x.gatewaySharedUpstream ?? '–'} shared upstream), ` +
              `${x.apiserverCPUs.toFixed(1)} s CPU; gateway ${x.gatewayPerWatchKiB?.toFixed(2) ?? '–'} KiB/watch, ` +
              `${x.gatewayCPUs?.toFixed(1) ?? '–'} s CPU; writes reached ${x.writes.map((d) => d.received).join('/')}, ` +
              `p50 ${round(x.p50Ms, 0)} p99 ${round(x.p99Ms, 0)} max ${round(x.maxMs, 0)} ms`,
          );
        }
      }
    } finally {
      await dev.stop();
      loadAfter = await machineLoad();
      console.log(`  machine load after: ${JSON.stringify(loadAfter)}`);
    }
    const of = (t: WatchTarget, f: (r: WatchRound) => number | null) =>
      median(
        rounds
          .filter((r) => r.target === t)
          .map((r) => f(r) ?? Number.NaN)
          .filter(Number.isFinite),
      );
    const measures: [string, (r: WatchRound) => number | null][] = [
      ['client watches open', (r) => r.opened],
      ['time to open them (s)', (r) => r.openSeconds],
      ['WATCHes the apiservers hold for them', (r) => r.upstreamWatches],
      [
        `upstream watches per gateway worker (${WORKERS})`,
        (r) => (r.target === 'direct' ? null : r.upstreamWatches / WORKERS),
      ],
      ['gateway RSS growth per client watch (KiB)', (r) => r.gatewayPerWatchKiB],
      ['gateway RSS with them open (MiB)', (r) => r.gatewayRSSOpenMiB],
      ['gateway CPU over the round (s)', (r) => r.gatewayCPUs],
      ['apiserver CPU over the round, 3 together (s)', (r) => r.apiserverCPUs],
      ['apiserver RSS with them open, 3 together (MiB)', (r) => r.apiserverRSSOpenMiB],
      ['apiserver RSS growth per client watch (KiB)', (r) => r.apiserverPerWatchKiB],
      ['clients reached by every write', (r) => r.reachedByEveryWrite],
      ['write → event, all clients, p50 (ms)', (r) => r.p50Ms],
      ['write → event, all clients, p99 (ms)', (r) => r.p99Ms],
      ['write → event, all clients, max (ms)', (r) => r.maxMs],
    ];
    const unshared = TARGETS.includes('kubegate-unshared');
    const rows = measures.map(([label, f]) => {
      const d = of('direct', f);
      const k = of('kubegate', f);
      const row = [label, round(d, 2), round(k, 2), Number.isFinite(d) && d !== 0 ? round(k / d, 3) : null];
      return unshared ? [...row, round(of('kubegate-unshared', f), 2)] : row;
    });
    const head = [
      'measure',
      'direct',
      'kubegate',
      'kubegate / direct',
      ...(unshared ? ['kubegate, no share'] : []),
    ];
    const load = (l: MachineLoad) => `load ${l.loadAverage.join(' ')}, ${l.busyPercent ?? '?'}% busy`;
    return {
      name: 'watches',
      data: {
        watches: WATCHES,
        writes: WRITES,
        sessions: SESSIONS,
        workers: WORKERS,
        targets: TARGETS,
        loadBefore,
        loadAfter,
        rounds,
      },
      markdown: [
        '## watches',
        '',
        `${WATCHES} identical watches of ConfigMap default/bench (field selector \`metadata.name\`, from its current resourceVersion, JSON) over ${SESSIONS} HTTP/2 connections, ramped at 2000/s. Direct: connections round-robin over the 3 apiservers. kubegate: a fresh gateway each round (${WORKERS} workers) with \`share: watches\` on configmaps${unshared ? '; no share: the same without the rule' : ''}. Alternating, ${ctx.reps} round${ctx.reps === 1 ? '' : 's'} each, medians. WATCHes held from the apiservers' \`apiserver_longrunning_requests\` 5 s after opening, above the round's start; RSS growth from before opening to 5 s idle (an upper bound: garbage of opening may not be collected); CPU from /proc over the round. ${WRITES} label PATCHes straight to apiserver 0, each timed from just before it is sent to the first bytes on every watch; percentiles over all watches of all writes. Machine before: ${load(loadBefore)}; after: ${load(loadAfter)}.`,
        '',
        table(head, rows),
      ].join('\n'),
    };
  },
};
