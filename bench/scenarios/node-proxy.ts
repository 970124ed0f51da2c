import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTER_CIDR } from '../../src/dev/flags.ts';
import { DevCluster } from '../lib/dev-cluster.ts';
import { machineLoad } from '../lib/gatewayapi-noise.ts';
import { stopChild } from '../lib/haproxy.ts';
import { KubegateNodes } from '../lib/kubegate-node.ts';
import { KubeProxyNodes, rootAPISocket } from '../lib/kube-proxy.ts';
import { NodeProxyFixture } from '../lib/node-proxy-fixture.ts';
import { nodeProxyMarkdown, summarize, type NodeProxyData } from '../lib/node-proxy-report.ts';
import { measureRound, type Round } from '../lib/node-proxy-round.ts';
import { measuredCommit } from '../lib/commit.ts';
import type { Scenario } from '../lib/scenario.ts';
import type { ServiceProxy } from '../lib/service-proxy.ts';

const JUDGES = fileURLToPath(new URL('../../tools/e2e-suites/provide.sh', import.meta.url));
/** Concurrent create requests for the bulk Services (the client keeps 8 connections). */
const CREATE_CONCURRENCY = 16;

function sizes(): number[] {
  const v = process.env.NODE_PROXY_SERVICES ?? '1000,10000';
  const n = v.split(',').map(Number);
  if (n.some((x) => !Number.isInteger(x) || x < 60) || n.some((x, i) => i > 0 && x <= n[i - 1]!))
    throw new Error(`NODE_PROXY_SERVICES must be rising integers ≥ 60, got ${v}`);
  return n;
}

/** Repetitions at 10,000 Services and more (each round re-lists them): NODE_PROXY_LARGE_REPS, default 2. */
function largeReps(reps: number): number {
  const v = Number(process.env.NODE_PROXY_LARGE_REPS ?? '2');
  return Math.max(1, Math.min(reps, Number.isInteger(v) ? v : 2));
}

/**
 * The Service proxy side by side: kube-proxy v1.37.2 in nftables mode and `kubegate node`, one at a
 * time in the node namespaces of one 2-node `kubegate dev` lab, alternating, at 1,000 and 10,000
 * Services: reachability, distribution, Service and EndpointSlice change → traffic, sync time and
 * table size (see node-proxy-round.ts).
 */
export const nodeProxy: Scenario = {
  name: 'node-proxy',
  describe: 'kube-proxy (nftables) vs kubegate node on one lab, alternating, at 1,000 and 10,000 Services',
  async run(ctx) {
    const before = await machineLoad();
    const dev = new DevCluster(join(ctx.dir, 'dev'));
    const logDir = join(ctx.dir, 'proxy-logs');
    await mkdir(logDir, { recursive: true });
    const stops: (() => Promise<void>)[] = [() => dev.stop()];
    const rounds: Round[] = [];
    const bulkCreateSeconds: Record<string, number> = {};
    try {
      await dev.start(1, 2);
      const state = JSON.parse(readFileSync(join(dev.dir, 'state.json'), 'utf8')) as {
        gateway: string;
        nodes: { name: string; netns: string }[];
      };
      const port = Number(new URL(state.gateway).port);
      const apiSocket = join(ctx.dir, 'api.sock');
      const socket = rootAPISocket(apiSocket, port, join(logDir, 'socat-root.log'));
      stops.push(() => stopChild(socket, 2000));
      const kubeconfig = join(dev.dir, 'gateway.kubeconfig');
      const bin = join(execFileSync(JUDGES, ['kube-proxy'], { encoding: 'utf8' }).trim(), 'kube-proxy');
      const proxies: ServiceProxy[] = [
        new KubeProxyNodes(
          { bin, kubeconfig, apiPort: port, apiSocket, clusterCIDR: CLUSTER_CIDR, logDir },
          state.nodes,
        ),
        new KubegateNodes({ kubeconfig, apiSocket, logDir }, state.nodes),
      ];
      // NODE_PROXY_BEFORE=<another checkout with its own node_modules>: its `kubegate node` as a
      // third side, alternating with the others (before/after a change on the same lab).
      const beforeTree = process.env.NODE_PROXY_BEFORE;
      if (beforeTree !== undefined && beforeTree !== '')
        proxies.push(
          new KubegateNodes(
            { kubeconfig, apiSocket, logDir, main: join(beforeTree, 'src/cli/main.ts') },
            state.nodes,
          ),
        );
      const fixture = await NodeProxyFixture.open(dev);
      stops.push(async () => fixture.close());
      await fixture.setUp();
      const from = state.nodes.find((n) => n.name === 'node-1')!.netns;
      // Probe Services get a fixed ClusterIP (the prober starts before the create) from the top of
      // the range, skipping any the bulk Services were given.
      let probeIP = 0;
      const nextProbeIP = () => {
        for (;;) {
          const ip = `10.96.${255 - (probeIP >> 8)}.${probeIP++ & 255}`;
          if (!/\.(0|255)$/.test(ip) && ip !== fixture.scaleIP && !fixture.bulkIPs.includes(ip)) return ip;
        }
      };
      for (const n of sizes()) {
        bulkCreateSeconds[String(n)] =
          Math.round((await fixture.bulkServices(n, CREATE_CONCURRENCY)) * 10) / 10;
        console.log(`bench node-proxy: ${n} Services in ${bulkCreateSeconds[String(n)]} s`);
        const reps = n >= 10_000 ? largeReps(ctx.reps) : ctx.reps;
        for (let rep = 0; rep < reps; rep++)
          for (const proxy of proxies) {
            const r = await measureRound(proxy, {
              fixture,
              netns: from,
              allNetns: state.nodes.map((x) => x.netns),
              services: n,
              rep,
              nextProbeIP,
            });
            console.log(`bench node-proxy: ${JSON.stringify(r)}`);
            rounds.push(r);
          }
      }
    } finally {
      for (const s of stops.reverse())
        await s().catch((err: Error) => console.error(`bench node-proxy: ${err.message}`));
      // NODE_PROXY_LOGS=<dir>: keep the proxies' logs (kubegate node's start-up steps are in them).
      const keep = process.env.NODE_PROXY_LOGS;
      if (keep !== undefined && keep !== '') await cp(logDir, keep, { recursive: true });
    }
    const data: NodeProxyData = {
      rounds,
      bulkCreateSeconds,
      machineLoad: { before, after: await machineLoad() },
      commit: measuredCommit(),
    };
    const summary = Object.fromEntries(
      [...new Set(rounds.map((r) => r.services))].map((n) => [
        n,
        summarize(rounds.filter((r) => r.services === n)),
      ]),
    );
    return { name: 'node-proxy', data: { summary, ...data }, markdown: nodeProxyMarkdown(data) };
  },
};
