import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DevCluster } from '../lib/dev-cluster.ts';
import { Gateway } from '../lib/gateway.ts';
import { processUsage } from '../lib/process-usage.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import { round } from '../lib/stats.ts';
import { Watchers } from '../lib/watchers.ts';

const WATCHES = Number(process.env['BENCH_WATCHES'] ?? 10_000);
const WRITES = 3;

/** 10,000 idle watches through kubegate: gateway RSS per watch, and write → event delay to all of them. */
export const watches: Scenario = {
  name: 'watches',
  describe: `${WATCHES} watches of one ConfigMap through kubegate: memory per idle watch, write→event delay p50/p99`,
  async run(ctx) {
    const dev = new DevCluster(join(ctx.dir, 'dev'));
    const gwDir = join(ctx.dir, 'gateway');
    await mkdir(gwDir, { recursive: true });
    const w = new Watchers();
    let gw: Gateway | null = null;
    try {
      await dev.start(3);
      const token = await dev.benchObjects();
      gw = new Gateway(await dev.gatewayOptions(gwDir));
      await gw.start();
      const rv = JSON.parse(
        await dev.kubectl('get', 'configmap', 'bench', '-n', 'default', '-o', 'json'),
      ) as {
        metadata: { resourceVersion: string };
      };
      await new Promise((r) => setTimeout(r, 3000));
      const before = processUsage(gw.pid);
      const path = `/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dbench&resourceVersion=${rv.metadata.resourceVersion}&timeoutSeconds=600`;
      const t0 = Date.now();
      await w.open(gw.url, path, token, WATCHES, 50, await readFile(dev.pki('ca.crt')));
      const openSeconds = (Date.now() - t0) / 1000;
      console.log(
        `  ${w.opened} watches open in ${openSeconds.toFixed(1)} s, ${w.errors} errors, statuses ${JSON.stringify(w.statuses)}`,
      );
      await new Promise((r) => setTimeout(r, 5000));
      const idle = processUsage(gw.pid);
      const perWatchKiB = w.opened > 0 ? (idle.rssKiB - before.rssKiB) / w.opened : Number.NaN;
      console.log(
        `  gateway RSS ${before.rssKiB >> 10} → ${idle.rssKiB >> 10} MiB: ${perWatchKiB.toFixed(2)} KiB per watch`,
      );
      const events: { received: number; p50: number; p99: number; max: number }[] = [];
      for (let i = 1; i <= WRITES; i++) {
        w.mark();
        await dev.labelBench(String(i));
        await new Promise((r) => setTimeout(r, 5000));
        const d = w.delays();
        console.log(
          `  write ${i}: ${d.received}/${w.opened} watchers, p50 ${d.p50.toFixed(0)} ms, p99 ${d.p99.toFixed(0)} ms, max ${d.max.toFixed(0)} ms`,
        );
        events.push(d);
      }
      const rows = events.map((e, i) => [i + 1, e.received, round(e.p50), round(e.p99), round(e.max)]);
      return {
        name: 'watches',
        data: {
          watches: WATCHES,
          opened: w.opened,
          errors: w.errors,
          openSeconds,
          rssBeforeKiB: before.rssKiB,
          rssIdleKiB: idle.rssKiB,
          perWatchKiB,
          events,
        },
        markdown: [
          '## watches',
          '',
          `${w.opened} of ${WATCHES} watches opened (50 client connections, 2000/s ramp) in ${openSeconds.toFixed(1)} s (statuses ${JSON.stringify(w.statuses)}); gateway RSS ${before.rssKiB >> 10} → ${idle.rssKiB >> 10} MiB after 5 s idle: **${perWatchKiB.toFixed(2)} KiB per watch**. Each write is a PATCH of the ConfigMap's labels straight to apiserver 0 over a new TLS connection; the delay runs from just before it is sent to the first bytes on each watch. RSS growth after 5 s idle is an upper bound: garbage from opening the watches may not be collected yet.`,
          '',
          table(['write', 'watchers reached', 'p50 ms', 'p99 ms', 'max ms'], rows),
        ].join('\n'),
      };
    } finally {
      w.close();
      await gw?.stop();
      await dev.stop();
    }
  },
};
