import { execFile, execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DevCluster } from '../lib/dev-cluster.ts';
import { processUsage } from '../lib/process-usage.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import { median, round } from '../lib/stats.ts';

const run = promisify(execFile);
const PROVIDE = fileURLToPath(new URL('../../tools/control-plane/provide.sh', import.meta.url));
const NODES = 3;
const PODS = 100;
const IDLE_SAMPLE_S = 30;

/**
 * The local cluster's nodes: `kubegate dev --nodes 3` start time (binaries cached; with the page
 * cache warm, and dropped first), the time from one `kubectl apply` of 100 pods (on one node) to
 * all Ready, and that podlet's CPU and memory with the 100 pods idle.
 */
export const podlet: Scenario = {
  name: 'podlet',
  describe: `kubegate dev --nodes ${NODES} start (warm, page cache dropped), ${PODS} pods applied to Ready, podlet CPU/RSS at ${PODS} idle pods`,
  async run(ctx) {
    const kubectl = join(execFileSync('sh', [PROVIDE, 'kubectl'], { encoding: 'utf8' }).trim(), 'kubectl');
    const starts: { kind: string; ms: number }[] = [];
    const applies: number[] = [];
    const idle: { cpuPercent: number; rssMiB: number }[] = [];
    for (let rep = 0; rep < ctx.reps; rep++) {
      // Alternate: a start with the page cache dropped, then a warm one that also runs the pods.
      for (const kind of ['page cache dropped', 'warm'] as const) {
        const dir = join(ctx.dir, `rep-${rep}-${kind === 'warm' ? 'warm' : 'cold'}`);
        if (kind !== 'warm') execFileSync('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches']);
        const dev = new DevCluster(dir);
        const t0 = performance.now();
        await dev.start(3, NODES);
        starts.push({ kind, ms: performance.now() - t0 });
        try {
          if (kind === 'warm') {
            const r = await hundredPods(kubectl, dir);
            applies.push(r.readyMs);
            idle.push(r.idle);
          }
        } finally {
          await dev.stop();
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
    const startMedian = (k: string) =>
      round(median(starts.filter((s) => s.kind === k).map((s) => s.ms)) / 1000, 2);
    const data = {
      nodes: NODES,
      pods: PODS,
      startSeconds: {
        warm: startMedian('warm'),
        pageCacheDropped: startMedian('page cache dropped'),
        runs: starts.map((s) => ({ kind: s.kind, seconds: round(s.ms / 1000, 2) })),
      },
      applyToAllReadySeconds: {
        median: round(median(applies) / 1000, 2),
        runs: applies.map((a) => round(a / 1000, 2)),
      },
      podletAtIdlePods: {
        cpuPercentMedian: round(median(idle.map((i) => i.cpuPercent)), 2),
        rssMiBMedian: round(median(idle.map((i) => i.rssMiB)), 1),
        runs: idle,
      },
    };
    const markdown = [
      `## podlet`,
      '',
      `kubegate dev --nodes ${NODES} (3 apiservers), binaries cached; ${PODS} pods (agnhost pause) in one \`kubectl apply\`, all on node-1; medians of ${ctx.reps} repetitions, cold and warm starts alternating.`,
      '',
      table(
        ['measure', 'median', 'runs'],
        [
          [
            'start, warm (s)',
            data.startSeconds.warm,
            starts
              .filter((s) => s.kind === 'warm')
              .map((s) => round(s.ms / 1000, 2))
              .join(', '),
          ],
          [
            'start, page cache dropped (s)',
            data.startSeconds.pageCacheDropped,
            starts
              .filter((s) => s.kind !== 'warm')
              .map((s) => round(s.ms / 1000, 2))
              .join(', '),
          ],
          [
            `apply ${PODS} pods → all Ready (s)`,
            data.applyToAllReadySeconds.median,
            data.applyToAllReadySeconds.runs.join(', '),
          ],
          [
            `podlet CPU at ${PODS} idle pods (% of a core)`,
            data.podletAtIdlePods.cpuPercentMedian,
            idle.map((i) => i.cpuPercent).join(', '),
          ],
          [
            `podlet RSS at ${PODS} idle pods (MiB)`,
            data.podletAtIdlePods.rssMiBMedian,
            idle.map((i) => i.rssMiB).join(', '),
          ],
        ],
      ),
      '',
    ].join('\n');
    return { name: 'podlet', data, markdown };
  },
};

async function hundredPods(
  kubectl: string,
  dir: string,
): Promise<{ readyMs: number; idle: { cpuPercent: number; rssMiB: number } }> {
  const kc = ['--kubeconfig', join(dir, 'gateway.kubeconfig')];
  const items = Array.from({ length: PODS }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `idle-${i}`, namespace: 'default', labels: { bench: 'podlet' } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': 'node-1' },
      containers: [{ name: 'main', image: 'registry.k8s.io/e2e-test-images/agnhost:2.66', args: ['pause'] }],
    },
  }));
  const file = join(dir, 'pods.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  // The namespace's default ServiceAccount must exist before pods can be admitted.
  for (let i = 0; i < 100; i++) {
    const r = await run(kubectl, [...kc, 'get', 'sa', 'default']).catch(() => null);
    if (r) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  const t0 = performance.now();
  await run(kubectl, [...kc, 'apply', '-f', file], { maxBuffer: 1 << 24 });
  for (;;) {
    const { stdout } = await run(
      kubectl,
      [
        ...kc,
        'get',
        'pods',
        '-l',
        'bench=podlet',
        '-o',
        'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}',
      ],
      { maxBuffer: 1 << 24 },
    );
    if (stdout.split(' ').filter((s) => s === 'True').length === PODS) break;
    if (performance.now() - t0 > 300_000) throw new Error(`${PODS} pods not Ready within 300 s`);
    await new Promise((res) => setTimeout(res, 250));
  }
  const readyMs = performance.now() - t0;
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as {
    pids: Record<string, number>;
  };
  const pid = state.pids['podlet-node-1'];
  await new Promise((res) => setTimeout(res, 10_000));
  const a = processUsage(pid);
  await new Promise((res) => setTimeout(res, IDLE_SAMPLE_S * 1000));
  const b = processUsage(pid);
  return {
    readyMs,
    idle: {
      cpuPercent: round(((b.cpuMicros - a.cpuMicros) / (IDLE_SAMPLE_S * 1e6)) * 100, 2) ?? 0,
      rssMiB: round(b.rssKiB / 1024, 1) ?? 0,
    },
  };
}
