import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KubeClient } from '../../src/kube/client.ts';
import { CLUSTER_CIDR } from '../../src/dev/flags.ts';
import { DevCluster } from '../lib/dev-cluster.ts';
import { rootAPISocket, startKubeProxy, type RunningKubeProxy } from '../lib/kube-proxy.ts';
import { stopChild } from '../lib/haproxy.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import { median, round } from '../lib/stats.ts';

const JUDGES = fileURLToPath(new URL('../../tools/e2e-suites/provide.sh', import.meta.url));
const PROBER = fileURLToPath(new URL('../lib/tcp-prober.ts', import.meta.url));
const NODE_CLI = fileURLToPath(new URL('../../src/cli/node.ts', import.meta.url));
const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.66';
const SERVICES = 1000;
const NS = 'default';

type Proxy = 'kube-proxy' | 'kubegate node';

interface DevState {
  gateway: string;
  nodes: { name: string; netns: string }[];
}

/**
 * The Service proxy side by side: kube-proxy v1.37.2 in nftables mode and `kubegate node`, each in
 * the node namespaces of a 2-node `kubegate dev` lab. With 1,000 Services in place (all selecting
 * one server pod on node-2), the time from a Service's create request to the first TCP connection
 * to its ClusterIP that opens from node-1's namespace (a prober started before the create, trying
 * every 5 ms), and the time for the 1,000 Services to become reachable.
 */
export const nodeProxy: Scenario = {
  name: 'node-proxy',
  describe: `kube-proxy (nftables) vs kubegate node: Service create → first connection with ${SERVICES} Services`,
  async run(ctx) {
    const proxies: Proxy[] = existsSync(NODE_CLI) ? ['kube-proxy', 'kubegate node'] : ['kube-proxy'];
    const results: { proxy: Proxy; bulkSeconds: number | null; createToConnectMs: number[] }[] = [];
    for (const proxy of proxies) results.push({ proxy, ...(await measure(proxy, ctx.dir, ctx.reps)) });
    const data = {
      services: SERVICES,
      results: results.map((r) => ({
        proxy: r.proxy,
        bulkSeconds: r.bulkSeconds,
        createToConnectMsMedian: round(median(r.createToConnectMs), 1),
        createToConnectMs: r.createToConnectMs.map((v) => round(v, 1)),
      })),
    };
    const markdown = [
      '## node-proxy',
      '',
      `2-node \`kubegate dev\` lab; ${SERVICES} Services selecting one agnhost pod on node-2; probes from node-1's namespace; ${ctx.reps} repetitions.`,
      '',
      table(
        [
          'proxy',
          `${SERVICES} Services reachable (s)`,
          'create → first connection, median (ms)',
          'runs (ms)',
        ],
        data.results.map((r) => [
          r.proxy,
          r.bulkSeconds,
          r.createToConnectMsMedian,
          r.createToConnectMs.join(', '),
        ]),
      ),
      '',
    ].join('\n');
    return { name: 'node-proxy', data, markdown };
  },
};

async function measure(
  proxy: Proxy,
  base: string,
  reps: number,
): Promise<{ bulkSeconds: number | null; createToConnectMs: number[] }> {
  const dir = join(base, proxy.replace(' ', '-'));
  const dev = new DevCluster(dir);
  await dev.start(1, 2, proxy === 'kubegate node' ? ['--node-networking'] : []);
  const stops: (() => Promise<void>)[] = [];
  const client = adminClient(dir);
  try {
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as DevState;
    if (proxy === 'kube-proxy') {
      const bin = join(execFileSync(JUDGES, ['kube-proxy'], { encoding: 'utf8' }).trim(), 'kube-proxy');
      const logDir = join(dir, 'logs');
      await mkdir(logDir, { recursive: true });
      const port = Number(new URL(state.gateway).port);
      const socketPath = join(dir, 'kube-proxy-api.sock');
      const socket = rootAPISocket(socketPath, port, join(logDir, 'socat-root.log'));
      stops.push(() => stopChild(socket, 2000));
      const running: RunningKubeProxy[] = state.nodes.map((n) =>
        startKubeProxy({
          bin,
          netns: n.netns,
          nodeName: n.name,
          kubeconfig: join(dir, 'gateway.kubeconfig'),
          apiPort: port,
          apiSocket: socketPath,
          clusterCIDR: CLUSTER_CIDR,
          logDir,
        }),
      );
      stops.push(() => Promise.all(running.map((r) => r.stop())).then(() => undefined));
    }
    const [from] = state.nodes;
    await serverPod(client);
    const bulkStart = Date.now();
    let last = '';
    for (let i = 0; i < SERVICES; i++) {
      const svc = await client.json<{ spec: { clusterIP: string } }>(
        'POST',
        `/api/v1/namespaces/${NS}/services`,
        service(`bulk-${i}`),
      );
      last = svc.spec.clusterIP;
    }
    const bulk = await probe(from.netns, last, 120_000);
    const bulkSeconds = bulk === null ? null : round((bulk - bulkStart) / 1000, 2);
    const createToConnectMs: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const ip = `10.96.250.${rep + 10}`;
      const prober = startProber(from.netns, ip, 30_000);
      await prober.ready;
      const created = Date.now();
      await client.json('POST', `/api/v1/namespaces/${NS}/services`, service(`probe-${rep}`, ip));
      const opened = await prober.opened;
      if (opened !== null) createToConnectMs.push(opened - created);
    }
    return { bulkSeconds, createToConnectMs };
  } finally {
    client.close();
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await dev.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function adminClient(dir: string): KubeClient {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as DevState;
  const pki = (f: string) => readFileSync(join(dir, 'pki', f), 'utf8');
  return new KubeClient({
    server: state.gateway,
    ca: pki('ca.crt'),
    cert: pki('admin.crt'),
    key: pki('admin.key'),
  });
}

function service(name: string, clusterIP?: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: {
      ...(clusterIP ? { clusterIP } : {}),
      selector: { app: 'bench-server' },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    },
  };
}

async function serverPod(client: KubeClient): Promise<void> {
  // The namespace's default ServiceAccount must exist before pods can be admitted.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await client.json('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('no default ServiceAccount');
    await new Promise((r) => setTimeout(r, 200));
  }
  await client.json('POST', `/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bench-server', namespace: NS, labels: { app: 'bench-server' } },
    spec: {
      nodeName: 'node-2',
      containers: [{ name: 'main', image: AGNHOST, args: ['netexec', '--http-port=8080'] }],
    },
  });
  while (Date.now() < deadline) {
    const p = await client.json<{ status?: { conditions?: { type: string; status: string }[] } }>(
      'GET',
      `/api/v1/namespaces/${NS}/pods/bench-server`,
    );
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('bench-server not Ready within 60s');
}

function startProber(
  netns: string,
  ip: string,
  timeoutMs: number,
): { ready: Promise<void>; opened: Promise<number | null> } {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, PROBER, ip, '80', String(timeoutMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  let at: number | null = null;
  lines.on('line', (l) => (l === 'probing' ? readyResolve() : (at = Number(l))));
  const opened = new Promise<number | null>((r) =>
    child.once('close', () => {
      readyResolve();
      r(at);
    }),
  );
  return { ready, opened };
}

async function probe(netns: string, ip: string, timeoutMs: number): Promise<number | null> {
  const p = startProber(netns, ip, timeoutMs);
  return p.opened;
}
