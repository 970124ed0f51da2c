import { mkdir, readFile } from 'node:fs/promises';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevCluster } from '../lib/dev-cluster.ts';
import { Gateway } from '../lib/gateway.ts';
import { apiserverMetric, Informers, pidsOf, type InformerStart } from '../lib/informers.ts';
import { processUsage } from '../lib/process-usage.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import { median, percentile, round } from '../lib/stats.ts';

const INFORMERS = Number(process.env['BENCH_INFORMERS'] ?? 1000);
const SLICES = Number(process.env['BENCH_SLICES'] ?? 300);
const SESSIONS = Number(process.env['BENCH_INFORMER_SESSIONS'] ?? 100);
const COLLECTION = '/apis/discovery.k8s.io/v1/endpointslices';

const SHARE_RULES = [
  {
    name: 'shared-endpointslices',
    match: { verbs: ['list', 'watch'], resources: ['endpointslices'] },
    share: 'watches+lists',
  },
];

type Target = 'direct' | 'kubegate';

interface Round {
  target: Target;
  round: number;
  synced: number;
  errors: string[];
  p50Ms: number;
  allSyncedMs: number;
  upstreamLists: number;
  upstreamWatches: number;
  apiserverCPUs: number;
  apiserverRSSMiB: number;
  gatewayCPUs: number | null;
  gatewayRSSMiB: number | null;
}

/**
 * 1,000 informers on all EndpointSlices starting at once (every kube-proxy after a control-plane
 * restart): LIST resourceVersion=0 in protobuf, then WATCH from its version. Straight to the 3
 * apiservers (round-robin, as an L4 balancer) or through kubegate with `share: watches+lists`,
 * alternating: LISTs and WATCHes the apiservers served, their CPU, and the time until all synced.
 */
export const informers: Scenario = {
  name: 'informers',
  describe: `${INFORMERS} EndpointSlice informers (protobuf LIST rv=0 + WATCH) at once, ${SLICES} slices: direct vs kubegate sharing`,
  async run(ctx) {
    const dev = new DevCluster(join(ctx.dir, 'dev'));
    const rounds: Round[] = [];
    try {
      await dev.start(3);
      const token = await dev.benchObjects();
      const [ca, cert, key] = await Promise.all(
        ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(dev.pki(f))),
      );
      const admin = { ca, cert, key };
      await createSlices(dev.apiservers[0]!, admin, SLICES);
      const apiservers = pidsOf('kube-apiserver', dev.dir);
      if (apiservers.length !== 3) throw new Error(`found ${apiservers.length} kube-apiservers of the bench`);
      for (let r = 1; r <= ctx.reps; r++) {
        for (const target of ['direct', 'kubegate'] as const) {
          rounds.push(await oneRound(ctx.dir, dev, target, r, token, admin, apiservers));
          const last = rounds.at(-1)!;
          console.log(
            `  ${target} round ${r}: ${last.synced}/${INFORMERS} synced, all in ${round(last.allSyncedMs, 0)} ms; ` +
              `apiservers served ${last.upstreamLists} LISTs, hold ${last.upstreamWatches} WATCHes, ${last.apiserverCPUs.toFixed(2)} s CPU` +
              (last.errors.length ? `; errors: ${last.errors.slice(0, 3).join(', ')}` : ''),
          );
        }
      }
    } finally {
      await dev.stop();
    }
    const of = (t: Target, f: (r: Round) => number | null) =>
      median(
        rounds
          .filter((r) => r.target === t)
          .map((r) => f(r) ?? Number.NaN)
          .filter(Number.isFinite), // a round where not every informer synced has no "all synced" time
      );
    const measures: [string, (r: Round) => number | null][] = [
      ['informers synced', (r) => r.synced],
      ['time until every informer synced (ms)', (r) => r.allSyncedMs],
      ['median informer synced (ms)', (r) => r.p50Ms],
      ['LISTs the apiservers served', (r) => r.upstreamLists],
      ['WATCHes the apiservers hold', (r) => r.upstreamWatches],
      ['apiserver CPU, 3 together (s)', (r) => r.apiserverCPUs],
      ['apiserver RSS after, 3 together (MiB)', (r) => r.apiserverRSSMiB],
      ['gateway CPU (s)', (r) => r.gatewayCPUs],
      ['gateway RSS after (MiB)', (r) => r.gatewayRSSMiB],
    ];
    const rows = measures.map(([label, f]) => {
      const d = of('direct', f);
      const k = of('kubegate', f);
      return [label, round(d, 2), round(k, 2), Number.isFinite(d) && d !== 0 ? round(k / d, 3) : null];
    });
    return {
      name: 'informers',
      data: { informers: INFORMERS, slices: SLICES, sessions: SESSIONS, rounds },
      markdown: [
        '## informers',
        '',
        `${INFORMERS} informers on all EndpointSlices (${SLICES} slices of 20 endpoints) start at once over ${SESSIONS} HTTP/2 connections, as kube-proxy's do after a restart: LIST \`resourceVersion=0\` in protobuf (\`Accept: application/vnd.kubernetes.protobuf, */*\`), then WATCH from the list's resourceVersion with bookmarks. Direct: connections round-robin over the 3 apiservers. kubegate: one gateway (fresh each round, 2 workers) with \`share: watches+lists\` on endpointslices. Alternating, ${ctx.reps} rounds each, medians. LISTs from the apiservers' \`apiserver_request_total\`, WATCHes held from \`apiserver_longrunning_requests\` while the informers watch; CPU from /proc over the round.`,
        '',
        table(['measure', 'direct', 'kubegate', 'kubegate / direct'], rows),
      ].join('\n'),
    };
  },
};

async function oneRound(
  dir: string,
  dev: DevCluster,
  target: Target,
  r: number,
  token: string,
  admin: { ca: Buffer; cert: Buffer; key: Buffer },
  apiservers: readonly number[],
): Promise<Round> {
  let gw: Gateway | null = null;
  let inf: Informers | null = null;
  try {
    if (target === 'kubegate') {
      const gwDir = join(dir, `gateway-${r}`);
      await mkdir(gwDir, { recursive: true });
      gw = new Gateway(await dev.gatewayOptions(gwDir, SHARE_RULES));
      await gw.start();
    }
    await sleep(2000);
    const usage = () => apiservers.map((p) => processUsage(p));
    const listsBefore =
      (await apiserverMetric(dev.apiservers, 'apiserver_request_total', 'endpointslices', admin))['LIST'] ??
      0;
    const watchesBefore =
      (await apiserverMetric(dev.apiservers, 'apiserver_longrunning_requests', 'endpointslices', admin))[
        'WATCH'
      ] ?? 0;
    const cpuBefore = usage();
    const gwBefore = gw === null ? null : processUsage(gw.pid);
    inf = new Informers(gw === null ? dev.apiservers : [gw.url], SESSIONS, { ca: admin.ca });
    const starts = await inf.start(INFORMERS, COLLECTION, token);
    await sleep(1000);
    const watches =
      (await apiserverMetric(dev.apiservers, 'apiserver_longrunning_requests', 'endpointslices', admin))[
        'WATCH'
      ] ?? 0;
    const cpuAfter = usage();
    const gwAfter = gw === null ? null : processUsage(gw.pid);
    const lists =
      ((await apiserverMetric(dev.apiservers, 'apiserver_request_total', 'endpointslices', admin))['LIST'] ??
        0) - listsBefore;
    const done = starts
      .filter((s: InformerStart) => s.watchingMs !== null)
      .map((s) => s.watchingMs!)
      .sort((a, b) => a - b);
    return {
      target,
      round: r,
      synced: done.length,
      errors: [...new Set(starts.filter((s) => s.error !== null).map((s) => s.error!))],
      p50Ms: percentile(done, 50),
      allSyncedMs: done.length === INFORMERS ? done.at(-1)! : Number.NaN,
      upstreamLists: lists,
      upstreamWatches: watches - watchesBefore,
      apiserverCPUs: cpuAfter.reduce((n, u, i) => n + u.cpuMicros - cpuBefore[i]!.cpuMicros, 0) / 1e6,
      apiserverRSSMiB: cpuAfter.reduce((n, u) => n + u.rssKiB, 0) / 1024,
      gatewayCPUs: gwAfter === null ? null : (gwAfter.cpuMicros - gwBefore!.cpuMicros) / 1e6,
      gatewayRSSMiB: gwAfter === null ? null : gwAfter.rssKiB / 1024,
    };
  } finally {
    inf?.close();
    await gw?.stop();
    await sleep(3000); // the apiservers let go of the watches before the next round
  }
}

/** `count` EndpointSlices of 20 endpoints each in namespace default, created as the dev admin. */
async function createSlices(
  url: string,
  admin: { ca: Buffer; cert: Buffer; key: Buffer },
  count: number,
): Promise<void> {
  const s = connect(url, { ...admin, servername: 'localhost' });
  const post = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `bench-${i}`,
          namespace: 'default',
          labels: { 'kubernetes.io/service-name': `bench-${i}` },
        },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: Array.from({ length: 20 }, (_, j) => ({
          addresses: [`10.${(i >> 8) & 255}.${i & 255}.${j + 1}`],
          conditions: { ready: true },
        })),
      });
      const q = s.request({
        ':method': 'POST',
        ':path': '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
        'content-type': 'application/json',
      });
      q.on('response', (h) =>
        h[':status'] === 201 ? resolve() : reject(new Error(`POST answered ${h[':status']}`)),
      );
      q.on('error', reject);
      q.resume();
      q.end(body);
    });
  try {
    for (let i = 0; i < count; i += 20) {
      await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => post(i + j)));
    }
  } finally {
    s.close();
  }
}
