import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DevCluster } from './dev-cluster.ts';
import { Gateway } from './gateway.ts';
import { apiserverMetric } from './informers.ts';
import { processUsage } from './process-usage.ts';
import { percentile } from './stats.ts';
import { Watchers } from './watchers.ts';

/** Where the client watches go: the apiservers, or a fresh kubegate with or without `share: watches`. */
export type WatchTarget = 'direct' | 'kubegate' | 'kubegate-unshared';

export const SHARE_RULES = [
  {
    name: 'shared-configmap-watches',
    match: { verbs: ['watch'], resources: ['configmaps'] },
    share: 'watches',
  },
];

/** What one round of `count` watches measured. */
export interface WatchRound {
  target: WatchTarget;
  round: number;
  opened: number;
  statuses: Record<string, number>;
  openSeconds: number;
  /** Configmap WATCHes the apiservers hold with the clients' watches open, above the round's start. */
  upstreamWatches: number;
  /** `kubegate_shared_watches{side="upstream"}` from the gateway's admin /metrics. */
  gatewaySharedUpstream: number | null;
  gatewayRSSBeforeMiB: number | null;
  gatewayRSSOpenMiB: number | null;
  gatewayPerWatchKiB: number | null;
  gatewayCPUs: number | null;
  apiserverCPUs: number;
  apiserverRSSBeforeMiB: number;
  apiserverRSSOpenMiB: number;
  apiserverPerWatchKiB: number;
  /** Per write: watchers reached and their delays (ms). */
  writes: { received: number; p50: number; p99: number; max: number }[];
  /** Every watcher's delay of every write, pooled. */
  reachedByEveryWrite: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface WatchRoundSetup {
  dir: string;
  dev: DevCluster;
  token: string;
  admin: { ca: Buffer; cert: Buffer; key: Buffer };
  apiservers: readonly number[];
  count: number;
  sessions: number;
  writes: number;
}

/**
 * One round: `count` watches of ConfigMap default/bench from its current resourceVersion, opened
 * over `sessions` connections (round-robin over the apiservers when direct), 5 s idle, then
 * `writes` label PATCHes straight to apiserver 0, each timed to the first bytes on every watch.
 */
export async function watchRound(s: WatchRoundSetup, target: WatchTarget, r: number): Promise<WatchRound> {
  const { dev, admin, apiservers } = s;
  let gw: Gateway | null = null;
  const w = new Watchers();
  const held = async () =>
    (await apiserverMetric(dev.apiservers, 'apiserver_longrunning_requests', 'configmaps', admin))['WATCH'] ??
    0;
  const usage = () => apiservers.map((p) => processUsage(p));
  let heldBefore = 0;
  try {
    if (target !== 'direct') {
      const gwDir = join(s.dir, `gateway-${target}-${r}`);
      await mkdir(gwDir, { recursive: true });
      gw = new Gateway(await dev.gatewayOptions(gwDir, target === 'kubegate' ? SHARE_RULES : undefined));
      await gw.start();
    }
    await sleep(3000);
    const rv = (
      JSON.parse(await dev.kubectl('get', 'configmap', 'bench', '-n', 'default', '-o', 'json')) as {
        metadata: { resourceVersion: string };
      }
    ).metadata.resourceVersion;
    heldBefore = await held();
    const apiBefore = usage();
    const gwBefore = gw === null ? null : processUsage(gw.pid);
    const path = `/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dbench&resourceVersion=${rv}&timeoutSeconds=600`;
    const t0 = performance.now();
    const opening = w.open(
      gw === null ? dev.apiservers : gw.url,
      path,
      s.token,
      s.count,
      s.sessions,
      admin.ca,
    );
    // Bounded: a watch no one answers (no stream slot) would hold the run forever.
    await Promise.race([opening, sleep(120_000, undefined, { ref: false })]);
    const openSeconds = (performance.now() - t0) / 1000;
    await sleep(5000);
    const apiOpen = usage();
    const gwOpen = gw === null ? null : processUsage(gw.pid);
    const upstreamWatches = (await held()) - heldBefore;
    const gatewaySharedUpstream = gw === null ? null : await sharedUpstream(gw);
    const writes: WatchRound['writes'] = [];
    const all: number[] = [];
    for (let i = 1; i <= s.writes; i++) {
      w.mark();
      await dev.labelBench(`${target}-${r}-${i}`);
      // Until every open watch has seen it (at most 30 s), then a breath before the next write.
      const deadline = Date.now() + 30_000;
      while (w.times().length < w.opened && Date.now() < deadline) await sleep(100);
      const d = w.delays();
      writes.push(d);
      all.push(...w.times());
      await sleep(1000);
    }
    const apiAfter = usage();
    const gwAfter = gw === null ? null : processUsage(gw.pid);
    all.sort((a, b) => a - b);
    const sum = (u: readonly { rssKiB: number }[]) => u.reduce((n, x) => n + x.rssKiB, 0);
    const perWatch = (kib: number) => (w.opened > 0 ? kib / w.opened : Number.NaN);
    return {
      target,
      round: r,
      opened: w.opened,
      statuses: { ...w.statuses },
      openSeconds,
      upstreamWatches,
      gatewaySharedUpstream,
      gatewayRSSBeforeMiB: gwBefore === null ? null : gwBefore.rssKiB / 1024,
      gatewayRSSOpenMiB: gwOpen === null ? null : gwOpen.rssKiB / 1024,
      gatewayPerWatchKiB: gwOpen === null ? null : perWatch(gwOpen.rssKiB - gwBefore!.rssKiB),
      gatewayCPUs: gwAfter === null ? null : (gwAfter.cpuMicros - gwBefore!.cpuMicros) / 1e6,
      apiserverCPUs: apiAfter.reduce((n, u, i) => n + u.cpuMicros - apiBefore[i]!.cpuMicros, 0) / 1e6,
      apiserverRSSBeforeMiB: sum(apiBefore) / 1024,
      apiserverRSSOpenMiB: sum(apiOpen) / 1024,
      apiserverPerWatchKiB: perWatch(sum(apiOpen) - sum(apiBefore)),
      writes,
      reachedByEveryWrite: Math.min(...writes.map((d) => d.received)),
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
      maxMs: all.at(-1) ?? Number.NaN,
    };
  } finally {
    w.close();
    await gw?.stop();
    // The apiservers let go of the watches before the next round (at most 20 s).
    const deadline = Date.now() + 20_000;
    await sleep(1000);
    while (Date.now() < deadline && (await held().catch(() => 0)) > heldBefore + 5) await sleep(1000);
  }
}

/** `kubegate_shared_watches{side="upstream"}` (summed over workers) from the admin /metrics. */
async function sharedUpstream(gw: Gateway): Promise<number | null> {
  const res = await fetch(`http://127.0.0.1:${gw.opts.adminPort}/metrics`).catch(() => null);
  if (res?.status !== 200) return null;
  const line = (await res.text()).split('\n').find((l) => l.includes('shared_watches{side="upstream"}'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
